#!/usr/bin/env bash
# Build the library bundle the notebooks load, then execute both notebooks headless so CI notices when they rot.
#
#   bash scripts/notebooks.sh            build + run notebooks/results.ipynb and notebooks/single-batch.ipynb
#   bash scripts/notebooks.sh --build    only build notebooks/.build/ (for interactive use in Jupyter)
#
# Needs Jupyter from Debian (apt-get install -y --no-install-recommends jupyter-nbconvert python3-ipykernel
# jupyter-client) and `npm ci` (tslab, esbuild). Environment:
#   RUN_DIR     results folder for results.ipynb; default: experiments/sim-paper.yaml (the simulator on the
#               shipped Alpaca traces, ~2 s) run here first
#   MODEL_DIR   model for single-batch.ipynb (default ckpts/tiny-v3; a random tiny model when that is missing)
#   NB_OUT      where the executed notebooks go (default: a temp dir, removed unless KEEP_OUTPUT=1)
# Exits non-zero when any cell fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JUPYTER=${JUPYTER:-/usr/bin/jupyter}
[ -x "$JUPYTER" ] || JUPYTER=$(command -v jupyter || true)

build() {
  local t0=$SECONDS
  mkdir -p notebooks/.build
  # ESM bundle of src/index.ts; packages stay external (the wasm backend finds its .wasm files in its own package)
  node_modules/.bin/esbuild src/index.ts --bundle --platform=node --format=esm --packages=external --target=node20 \
    --outfile=notebooks/.build/seqsch.mjs --log-level=warning
  # declarations, so notebook cells are type-checked against the library (tslab checks every cell);
  # a type error elsewhere in src/ must not stop the notebooks (typecheck is CI's own step), so only emit counts
  rm -rf notebooks/.build/types
  node_modules/.bin/tsc src/index.ts --declaration --emitDeclarationOnly --outDir notebooks/.build/types \
    --module nodenext --moduleResolution nodenext --target es2022 --strict --skipLibCheck --esModuleInterop \
    --resolveJsonModule --types node >notebooks/.build/tsc.log 2>&1 || true
  if [ ! -f notebooks/.build/types/index.d.ts ]; then
    cat notebooks/.build/tsc.log >&2
    echo "notebooks: declaration build failed (notebooks/.build/types/index.d.ts missing)" >&2
    exit 1
  fi
  echo "notebooks: built notebooks/.build/ in $((SECONDS - t0)) s"
}

build
[ "${1:-}" = "--build" ] && exit 0

if [ -z "$JUPYTER" ] || ! "$JUPYTER" nbconvert --version >/dev/null 2>&1; then
  echo "notebooks: jupyter nbconvert not found; install: apt-get install -y --no-install-recommends jupyter-nbconvert python3-ipykernel jupyter-client" >&2
  exit 1
fi
# the TypeScript kernel (Debian's jupyter runs on /usr/bin/python3); (re)registered when missing or when the
# command it starts is not there (a spec written by `npx tslab install` names a bare `tslab`, not on PATH)
kernels=$("$JUPYTER" kernelspec list 2>/dev/null || true)
spec=$(awk '$1 == "tslab" { print $2 "/kernel.json" }' <<<"$kernels")
tslab_cmd=$([ -n "$spec" ] && [ -f "$spec" ] && node -p "JSON.parse(require('fs').readFileSync('$spec', 'utf8')).argv[0]" || true)
if [ -z "$tslab_cmd" ] || ! command -v "$tslab_cmd" >/dev/null; then
  where=$([ "$(id -u)" = 0 ] || echo --user) # system-wide as root, else in ~/.local/share/jupyter
  node_modules/.bin/tslab install --python="$(dirname "$JUPYTER")/python3" --binary="$ROOT/node_modules/.bin/tslab" $where
fi

TMP=$(mktemp -d)
NB_OUT=${NB_OUT:-$TMP/executed}
mkdir -p "$NB_OUT"
cleanup() { [ "${KEEP_OUTPUT:-0}" = 1 ] || rm -rf "$TMP"; }
trap cleanup EXIT

if [ -z "${RUN_DIR:-}" ]; then
  t0=$SECONDS
  yaml=experiments/sim-paper.yaml
  node bin/seqsch.js experiment "$yaml" --details --results "$TMP/results" >/dev/null
  RUN_DIR=$(ls -d "$TMP"/results/*/ | head -n 1)
  RUN_DIR=${RUN_DIR%/}
  echo "notebooks: ran $yaml into $RUN_DIR in $((SECONDS - t0)) s"
fi
# the notebooks run in notebooks/: make folders given relative to the repo root absolute
[ -d "$RUN_DIR" ] && RUN_DIR=$(cd "$RUN_DIR" && pwd)
export RUN_DIR
if [ -n "${MODEL_DIR:-}" ] && [ -d "$MODEL_DIR" ]; then MODEL_DIR=$(cd "$MODEL_DIR" && pwd); export MODEL_DIR; fi

status=0
for nb in notebooks/results.ipynb notebooks/single-batch.ipynb; do
  t0=$SECONDS
  if "$JUPYTER" nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 --output-dir "$NB_OUT" "$nb" >"$TMP/nbconvert.log" 2>&1; then
    echo "notebooks: $nb ok ($((SECONDS - t0)) s)"
  else
    echo "notebooks: $nb FAILED ($((SECONDS - t0)) s):" >&2
    # nbconvert's error names the failing cell and the kernel's error text
    if grep -q CellExecutionError "$TMP/nbconvert.log"; then
      sed -n '/CellExecutionError/,$p' "$TMP/nbconvert.log" >&2
      # tslab reports the error text on stderr, not in the execute reply: rerun keeping errors, print the cells' stderr
      "$JUPYTER" nbconvert --to notebook --execute --allow-errors --ExecutePreprocessor.timeout=600 --output-dir "$TMP/failed" "$nb" >/dev/null 2>&1 || true
      [ -f "$TMP/failed/$(basename "$nb")" ] && node -e "
        const nb = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
        nb.cells.forEach((c, i) => (c.outputs ?? []).filter((o) => o.name === 'stderr').forEach((o) => console.error('cell ' + i + ' stderr: ' + [].concat(o.text).join(''))));
      " "$TMP/failed/$(basename "$nb")"
    else
      tail -n 30 "$TMP/nbconvert.log" >&2
    fi
    status=1
  fi
done
[ "${KEEP_OUTPUT:-0}" = 1 ] && echo "notebooks: executed copies in $NB_OUT"
exit $status
