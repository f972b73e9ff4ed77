#!/usr/bin/env bash
# Behaviour unchanged (issue 25's acceptance): runs the main job (experiments/seqsch.yaml) and serving-smoke
# (experiments/serving-smoke.yaml) with the current tree and compares each results.json with a reference run's,
# timing fields removed, through scripts/compare-results.mjs. Exit 0 when both are the same; 1 when either differs
# (its first differences and every differing key are printed); 2 on a usage error or a failed run. It does not say
# which side is right, and compares only results.json (not table.md, report.html or side files).
#   scripts/same-behaviour.sh REF_SEQSCH REF_SERVING_SMOKE [NEW_SEQSCH NEW_SERVING_SMOKE]
# REF_* are results folders of the two experiments made by the reference code; with NEW_* given nothing is run and
# those folders are compared. Runs go to results/same-behaviour/<UTC time>/{main,serving}/, under nice -n 10.
#
# The ignored keys were found by comparing two runs of the same code (e232ad2, 2026-12-07: two serving-smoke runs
# and two main-job runs on the 2-core machine, one under load): every key that differed is below, plus keys of the
# same kind that happened to agree (a wall-clock figure that rounded alike, or a stamp's figure of a reused stage).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 2 ] && [ $# -ne 4 ]; then
  echo 'usage: scripts/same-behaviour.sh REF_SEQSCH REF_SERVING_SMOKE [NEW_SEQSCH NEW_SERVING_SMOKE]' >&2
  exit 2
fi

# ---- main job: these keys, wherever they are
MAIN_IGNORE=(
  seconds                    # wall-clock of each stage and benchmark row (a reused stage reports its stamp's)
  predict_seconds            # wall-clock of the length predictor's calls in a benchmark row
  fcr_seconds                # wall-clock of FCR's recomputation in a benchmark row
  prefill_seconds            # wall-clock of the probe row's separate prefill
  features_seconds           # probe: wall-clock of reading the hidden states
  fit_seconds                # probe: wall-clock of fitting the heads
  remaining_seconds          # probe: wall-clock of the remaining-length head
  throughput                 # samples per wall-clock second of a benchmark row
  measured_seconds           # calibrate: the benchmark row's wall-clock, copied
  measured_throughput        # calibrate: the benchmark row's throughput, copied
  measured_speedup           # calibrate: ratio of two measured wall-clocks
  replay_seconds             # calibrate: the measured batches charged by the cost model fitted to their wall-clock
  replay_error               # calibrate: replay_seconds against measured_seconds
  simulated_seconds          # calibrate: the simulator under the fitted cost model
  simulated_error            # calibrate: simulated_seconds against measured_seconds
  fit_step_base_ms           # calibrate: least-squares fit of the measured step times
  fit_step_per_row_ms        # calibrate: same fit
  fit_step_per_row_token_ms  # calibrate: same fit
  fit_prefill_base_ms        # calibrate: same fit, prefill
  fit_prefill_per_token_ms   # calibrate: same fit, prefill
  fit_rms_batch_error        # calibrate: the fit's error against the measured batches
)

# ---- serving-smoke: the simulator's rows (engine sim) are compared in full; on the real engine (tfjs) these keys
SERVE_TFJS_IGNORE=(
  makespan                   # wall-clock from the first arrival to the last finish
  throughput                 # requests per wall-clock second
  output_tokens_per_s        # tokens per wall-clock second
  latency_mean               # wall-clock per request, and its quantiles:
  latency_p50
  latency_p90
  latency_p99
  ttft_mean                  # wall-clock to the first token
  ttft_p99
  normalized_latency         # latency per output token
  queueing_delay_mean        # wall-clock waiting before admission
  foreign_cpu                # CPU time other processes took during the run
  predictor_seconds          # wall-clock of the predictor's (and probe's) calls
  capacity                   # the offline row's measured throughput, which sets the Poisson rate
  rate                       # load × capacity: the Poisson arrivals' rate
)
# under Poisson arrivals on the real engine, which requests have arrived at a step follows the wall-clock
SERVE_TFJS_POISSON_IGNORE=(
  preemptions                # how often a running request gave up its slot to a shorter arrival
)
SERVE_CALIBRATE_IGNORE=(
  rate                       # the real engine's Poisson rate (above)
  measured_throughput        # the real engine's figures, copied
  measured_latency_mean
  measured_latency_p99
  simulated_throughput       # the simulator under the cost model fitted to those measurements
  simulated_latency_mean
  simulated_latency_p99
  throughput_error           # simulated against measured
  latency_error
  fit_step_ms                # least-squares fit of the measured step times
  fit_context_ms
  fit_prefill_base_ms
  fit_prefill_per_token_ms
  fit_rms_call_error         # the fit's error against the measured calls
  predictor_call_s           # measured cost of a predictor call
  predictor_item_s           # measured cost per predicted item
)

join() {
  local IFS=,
  echo "$*"
}

# run EXPERIMENT_FILE PARENT → prints the run folder it wrote
run() {
  local name
  name=$(basename "$1" .yaml)
  mkdir -p "$2"
  echo "running $1 into $2/ ..." >&2
  if ! nice -n 10 node bin/seqsch.js experiment "$1" --results "$2" >"$2/run.log" 2>&1; then
    echo "$1 failed; the last lines of $2/run.log:" >&2
    tail -20 "$2/run.log" >&2
    exit 2
  fi
  ls -d "$2/$name"-*/ | head -1
}

if [ $# -eq 4 ]; then
  new_main=$3
  new_serving=$4
else
  node scripts/build-cli.mjs >/dev/null # the CLI runs from a transpiled copy of src/
  out=results/same-behaviour/$(date -u +%Y-%m-%dT%H-%M-%S)
  new_main=$(run experiments/seqsch.yaml "$out/main")
  new_serving=$(run experiments/serving-smoke.yaml "$out/serving")
fi

status=0
echo "main job: $1 vs $new_main"
node scripts/compare-results.mjs "$1" "$new_main" --ignore "$(join "${MAIN_IGNORE[@]}")" || status=1
# the serving names issue 25 changed on purpose, applied to the reference first (scripts/rename-results.mjs)
# (the copy keeps the folder's name: compare-results.mjs reads paths inside a run folder relative to its name)
renamed=$(mktemp -d)
trap 'rm -rf "$renamed"' EXIT
ref_serving=$renamed/$(basename "$(realpath "$2")")
node scripts/rename-results.mjs "$2" "$ref_serving"
echo "serving-smoke: $2 (serving names renamed) vs $new_serving"
node scripts/compare-results.mjs "$ref_serving" "$new_serving" \
  --ignore-when "stage=serve&engine=tfjs:$(join "${SERVE_TFJS_IGNORE[@]}")" \
  --ignore-when "stage=serve&engine=tfjs&arrival=poisson:$(join "${SERVE_TFJS_POISSON_IGNORE[@]}")" \
  --ignore-when "stage=serve-calibrate:$(join "${SERVE_CALIBRATE_IGNORE[@]}")" || status=1
exit $status
