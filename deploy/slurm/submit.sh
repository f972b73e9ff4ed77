#!/usr/bin/env bash
# Submit a seqsch sweep to Slurm: the prepare step, then an array of N shards (--array=0-(N-1), after the prepare
# step succeeded), then the merge (after every shard succeeded); logs per task in $SWEEP_DIR/logs/.
#   deploy/slurm/submit.sh EXPERIMENT.yaml N [sbatch options, e.g. --partition=cpu --time=2:00:00]
# Env: SWEEP_DIR (default results/sweeps/<yaml name>-<time>), DETAILS=1 (per-query details in results.json),
#      RERUN=k (resubmit only shard k of an existing SWEEP_DIR, then the merge).
# Prints PREPARE=, SHARDS_JOB=, MERGE= (job ids) and SWEEP_DIR=; the results land in $SWEEP_DIR/merged/.
set -euo pipefail
if [ $# -lt 2 ]; then sed -n '2,8p' "$0" >&2; exit 2; fi
exp=$1 n=$2
shift 2
repo=$(cd "$(dirname "$0")/../.." && pwd)
sweep=${SWEEP_DIR:-results/sweeps/$(basename "$exp" .yaml)-$(date +%Y%m%d-%H%M%S)}
case $sweep in /*) ;; *) sweep=$repo/$sweep ;; esac
export EXPERIMENT=$exp SHARDS=$n SWEEP_DIR=$sweep
mkdir -p "$sweep/logs"
job=$repo/deploy/slurm/sweep.sbatch
sb() { sbatch --parsable --chdir="$repo" --export=ALL "$@" | cut -d';' -f1; }
prep=
if [ -z "${RERUN:-}" ]; then
  prep=$(sb "$@" --output="$sweep/logs/prepare-%j.out" "$job" prepare)
  array=$(sb "$@" --dependency=afterok:"$prep" --kill-on-invalid-dep=yes --array=0-$((n - 1)) --output="$sweep/logs/shard-%a-%A.out" "$job" shard)
else
  array=$(sb "$@" --array="$RERUN" --output="$sweep/logs/shard-%a-%A.out" "$job" shard)
fi
merge=$(sb "$@" --dependency=afterok:"$array" --kill-on-invalid-dep=yes --output="$sweep/logs/merge-%j.out" "$job" merge)
printf 'PREPARE=%s\nSHARDS_JOB=%s\nMERGE=%s\nSWEEP_DIR=%s\n' "$prep" "$array" "$merge" "$sweep"
