#!/bin/bash
# Issue 15: which decode rule of the probe's bucket distribution schedules best, measured on the train records only.
# scripts/probe-decode-study.ts fits the committed probe's configuration 5 times (folds of whole instruction texts,
# as the probe stage) and writes each train record's out-of-fold prediction under every rule; this script replays
# the main job's schedule (VBS + FCR, batch 16, groups of 256, max 256) on those 2048 records with the simulator,
# charged by a main job run's calibrated CPU cost model (argument 1: its costmodel-calibrated.json), beside vanilla
# and the oracle. Prints samples/s and the FCR failure ratio per rule. ~1 min on 2 cores.
#   bash scripts/probe-decode-study.sh results/seqsch-<run>/costmodel-calibrated.json
set -euo pipefail
cm=${1:?usage: bash scripts/probe-decode-study.sh <a main-job run folder>/costmodel-calibrated.json}
[ -f "$cm" ] || { echo "probe-decode-study: cost model $cm not found (run npm run experiment -- experiments/seqsch.yaml first)" >&2; exit 1; }
npx tsx scripts/probe-decode-study.ts
common="--data results/probe-decode-study/train-recorded.json --lengths data/synthetic-v3/train-length.json --num-data 2048 --seed 42 --batch-size 16 --group-size 256 --max-length 256 --recorded-max-length 256 --cost-model $cm --json"
for s in vanilla; do echo -n "vanilla "; node bin/seqsch.js simulate $common --strategy vanilla | tail -1 | python3 -c "import sys,json;d=json.load(sys.stdin);print(round(d.get('throughput',0),2), d.get('failure_ratio'))"; done
echo -n "gt "; node bin/seqsch.js simulate $common --strategy gt --vbs --fcr | tail -1 | python3 -c "import sys,json;d=json.load(sys.stdin);print(round(d.get('throughput',0),2), d.get('failure_ratio'))"
for r in bucket50 median q0.3 q0.4 q0.45 q0.6 q0.7 q0.8 q0.9; do echo -n "$r "; node bin/seqsch.js simulate $common --strategy seqsch --predictions results/probe-decode-study/oof-$r.json --vbs --fcr | tail -1 | python3 -c "import sys,json;d=json.load(sys.stdin);print(round(d.get('throughput',0),2), d.get('failure_ratio'))"; done
