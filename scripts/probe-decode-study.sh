#!/bin/bash
# Issue 15: which decode rule of the probe's bucket distribution schedules best, measured on the train records only.
# scripts/probe-decode-study.ts fits the committed probe's configuration on 5 folds of whole instruction texts, R times
# over (other fold splits and fit seeds), and writes each train record's out-of-fold prediction under every rule; this
# script replays the main job's schedule (VBS + FCR, batch 16, groups of 256, max 256) on those 2048 records with the
# simulator, charged by a main job run's calibrated CPU cost model (argument 1: its costmodel-calibrated.json), beside
# vanilla and the oracle, and prints per rule the share of the oracle's gain in each repetition, their mean, and the
# mean paired difference to bucket50 with how many repetitions it wins. One repetition is not enough: the share moves
# by ±7 points between fold splits of the same rule. ~5 min on 2 cores for 6 repetitions.
#   bash scripts/probe-decode-study.sh results/seqsch-<run>/costmodel-calibrated.json [repetitions, default 6]
set -euo pipefail
cm=${1:?usage: bash scripts/probe-decode-study.sh <a main-job run folder>/costmodel-calibrated.json [repetitions]}
reps=${2:-6}
[ -f "$cm" ] || { echo "probe-decode-study: cost model $cm not found (run npm run experiment -- experiments/seqsch.yaml first)" >&2; exit 1; }
npx tsx scripts/probe-decode-study.ts "$reps"
dir=results/probe-decode-study
common="--data $dir/train-recorded.json --lengths data/synthetic-v3/train-length.json --num-data 2048 --seed 42 --batch-size 16 --group-size 256 --max-length 256 --recorded-max-length 256 --cost-model $cm --json"
tput() { node bin/seqsch.js simulate $common "$@" | tail -1 | python3 -c "import sys,json; d=json.load(sys.stdin); print(d['throughput'], d['failure_ratio'])"; }
{
  echo "vanilla $(tput --strategy vanilla)"
  echo "gt $(tput --strategy gt --vbs --fcr)"
  for f in $dir/oof-r*-*.json; do
    b=$(basename "$f" .json); rep=${b#oof-r}; rep=${rep%%-*}; rule=${b#oof-r$rep-}
    echo "rule $rule $rep $(tput --strategy seqsch --predictions "$f" --vbs --fcr)"
  done
} | python3 -c '
import sys, collections
v = g = None; share = collections.defaultdict(dict); fail = collections.defaultdict(dict)
for line in sys.stdin:
    w = line.split()
    if w[0] == "vanilla": v = float(w[1])
    elif w[0] == "gt": g = float(w[1])
    else: share[w[1]][int(w[2])] = 100 * (float(w[3]) - v) / (g - v); fail[w[1]][int(w[2])] = 100 * float(w[4])
print(f"vanilla {v:.2f} samples/s, oracle (gt + VBS + FCR) {g:.2f}; share of the oracle gain per repetition (FCR failure %)")
base = share["bucket50"]
for rule in sorted(share, key=lambda r: -sum(share[r].values()) / len(share[r])):
    s = share[rule]; reps = sorted(s); mean = sum(s.values()) / len(s)
    diffs = [s[r] - base[r] for r in reps if r in base]
    per = " ".join(f"{s[r]:5.1f} ({fail[rule][r]:.1f})" for r in reps)
    print(f"{rule:9s} mean {mean:5.1f} %   vs bucket50 {sum(diffs) / len(diffs):+5.1f}, wins {sum(x > 0 for x in diffs)}/{len(diffs)}   {per}")
'
