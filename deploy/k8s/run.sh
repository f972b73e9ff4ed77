#!/usr/bin/env bash
# Run the sweep on Kubernetes: the volume, then prepare → shards → merge, each started when the one before it
# completed (Jobs have no dependencies of their own). Stops at the first Job that fails.
#   deploy/k8s/run.sh [kubectl options, e.g. -n my-namespace]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k() { kubectl "$@"; }
step() { # MANIFEST JOB
  k "${opts[@]}" apply -f "$here/$1"
  # complete or failed, whichever comes first
  while :; do
    s=$(k "${opts[@]}" get job "$2" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type} {end}')
    case " $s " in
      *" Complete "*) echo "job $2 complete"; return 0 ;;
      *" Failed "*) echo "job $2 failed: kubectl ${opts[*]} logs job/$2" >&2; exit 1 ;;
    esac
    sleep 10
  done
}
opts=("$@")
# Jobs of an earlier sweep would read as complete at once: remove them (the volume and its folders stay)
k "${opts[@]}" delete job --ignore-not-found seqsch-sweep-prepare seqsch-sweep seqsch-sweep-merge
k "${opts[@]}" apply -f "$here/pvc.yaml"
step prepare-job.yaml seqsch-sweep-prepare
step sweep-job.yaml seqsch-sweep
step merge-job.yaml seqsch-sweep-merge
echo "merged: results/sweeps/sim-ablation/merged on the seqsch-results volume"
