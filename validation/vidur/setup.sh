#!/usr/bin/env bash
# Set up Vidur (microsoft/vidur, MIT) for the validation runs: Debian's Python packages, Vidur's source at the pinned
# commit, and a check that `vidur.main` imports with our shims (shims/: wandb and ddsketch stubs, plotly_express
# re-export). It does not: install Vidur's pip requirements (wandb, kaleido, ddsketch, plotly_express, seaborn are
# not needed with plots and wandb off), train anything, or run a case (run_vidur.py does).
#
# Environment:
#   VIDUR_SRC  an extracted microsoft/vidur tree; if unset, cloned into validation/vidur/work/vidur-src at the commit
#              below (needs network access to GitHub). Vidur's code is never committed here.
#   SKIP_APT=1 skip apt-get (packages already installed)
# Prints the `export` lines to use afterwards.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
COMMIT=7d47513363ec447a741ac5e47241580b47724fbf

if [ "${SKIP_APT:-0}" != 1 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    python3 python3-numpy python3-pandas python3-sklearn python3-scipy python3-matplotlib python3-tqdm \
    python3-fasteners python3-plotly python3-yaml git ca-certificates
fi

if [ -z "${VIDUR_SRC:-}" ]; then
  VIDUR_SRC="$HERE/work/vidur-src"
  if [ ! -d "$VIDUR_SRC/vidur" ]; then
    mkdir -p "$HERE/work"
    git clone https://github.com/microsoft/vidur "$VIDUR_SRC"
    git -C "$VIDUR_SRC" checkout --quiet "$COMMIT"
  fi
fi
if [ ! -f "$VIDUR_SRC/vidur/main.py" ]; then
  echo "setup.sh: $VIDUR_SRC has no vidur/main.py: not a microsoft/vidur tree" >&2
  exit 1
fi
if [ -d "$VIDUR_SRC/.git" ]; then
  have="$(git -C "$VIDUR_SRC" rev-parse HEAD)"
  if [ "$have" != "$COMMIT" ]; then
    echo "setup.sh: warning: $VIDUR_SRC is at $have, the results were made at $COMMIT" >&2
  fi
fi
for f in data/processed_traces/splitwise_conv.csv data/processed_traces/splitwise_code.csv; do
  [ -f "$VIDUR_SRC/$f" ] || { echo "setup.sh: $VIDUR_SRC/$f is missing" >&2; exit 1; }
done

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
(cd "$VIDUR_SRC" && PYTHONPATH="$HERE/shims:$VIDUR_SRC" "$PY" -c \
  "import vidur.main, vidur.metrics.metrics_store, sklearn, pandas; print('vidur imports with the shims; sklearn', sklearn.__version__, 'pandas', pandas.__version__)")
echo "export VIDUR_SRC=$VIDUR_SRC VIDUR_PYTHON=$PY"
