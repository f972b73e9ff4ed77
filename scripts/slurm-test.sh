#!/usr/bin/env bash
# A real test of deploy/slurm/: a single-node Slurm cluster on localhost (Debian's slurm-wlm + munge, installed
# with apt-get when missing; munged, slurmctld and slurmd started here on free ports, their config, key, state
# and logs in a temporary folder), two sweeps submitted with deploy/slurm/submit.sh (the prepare step, an array
# of 3 shards after it, the merge after the array) and each merged result compared with a single-process run of
# the same experiment:
#   - experiments/sim-ablation.yaml (54 simulated points): results.json and table.md byte-identical;
#   - experiments/sweep-smoke.yaml (real engine: lenpred in the prepare step, 4 benchmark points): results.json
#     identical except the wall-clock keys (seconds, predict_seconds, fcr_seconds, throughput), and the same
#     lenpred output file.
# Every daemon it started is stopped on exit, failure and interrupt included (trap). Needs root (apt-get, and the
# daemons run as root). Run: bash scripts/slurm-test.sh   (CI: .ci/run)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
say() { echo "slurm-test: $*"; }
die() { say "FAILED: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (it installs slurm-wlm and munge and runs their daemons)"
t_start=$(date +%s)

T=$(mktemp -d /tmp/seqsch-slurm.XXXXXX)
chmod 711 "$T" # munged needs search permission for all on its socket folder
declare -A daemon=()   # name → pid of each daemon this script started
policy_added=

# ---- cleanup: cancel jobs, stop our daemons (TERM, then KILL), end job steps left behind, remove the temp folder
stop_pid() { # NAME PID
  local name=$1 pid=$2 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  say "$name (pid $pid) ignored TERM for 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}
# job steps (slurmstepd) of our cluster that are alive: found by our SLURM_CONF in their environment
our_steps() {
  local p
  for p in $(pgrep -x slurmstepd 2>/dev/null); do
    [ "$(awk '{print $3}' 2>/dev/null </proc/"$p"/stat)" = Z ] && continue
    tr '\0' '\n' 2>/dev/null </proc/"$p"/environ | grep -qx "SLURM_CONF=$T/slurm.conf" && echo "$p"
  done
  return 0
}
cleanup() {
  local rc=$? i p
  set +e
  trap - INT TERM
  if [ -n "${daemon[slurmctld]:-}" ] && kill -0 "${daemon[slurmctld]}" 2>/dev/null; then
    timeout 10 scancel --quiet --user=root 2>/dev/null # every job of this private cluster is ours
    for i in $(seq 1 40); do [ -z "$(timeout 5 squeue -h 2>/dev/null)" ] && [ -z "$(our_steps)" ] && break; sleep 0.5; done
  fi
  if [ "$rc" != 0 ]; then
    for f in "$T"/*.log "$T"/sweep-*/logs/*; do [ -f "$f" ] && { echo "---- $f (last lines)"; tail -n 25 "$f"; }; done
  fi
  for name in slurmd slurmctld munged; do [ -n "${daemon[$name]:-}" ] && stop_pid "$name" "${daemon[$name]}"; done
  for p in $(our_steps); do # a job step that outlived slurmd (it blocks TERM): end it and its processes (its session)
    say "ending job step $p left behind"
    pkill -KILL -s "$(ps -o sid= -p "$p" | tr -d ' ')" 2>/dev/null
    kill -KILL "$p" 2>/dev/null
  done
  [ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d
  rm -rf "$T"
  if [ "$rc" = 0 ]; then say "passed in $(( $(date +%s) - t_start )) s"; else say "failed (exit $rc); daemons stopped"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- install (no service may start at install time: a policy-rc.d that denies starts, while installing)
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  apt-get update -qq
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; policy_added=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >"$T/apt.log" 2>&1 || { cat "$T/apt.log"; die "apt-get install slurm-wlm munge"; }
  [ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d && policy_added=
fi
say "$(slurmctld -V), $(munged -V 2>&1 | head -n 1)"

# ---- munge: a fresh key, our own socket
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge.key"
setsid munged -F --key-file="$T/munge.key" --socket="$T/munge.sock" --pid-file="$T/munged.pid" --seed-file="$T/munge.seed" --log-file="$T/munged.log" >"$T/munged.log" 2>&1 &
daemon[munged]=$!
for i in $(seq 1 50); do munge -S "$T/munge.sock" -n </dev/null >/dev/null 2>&1 && break; sleep 0.2; done
munge -S "$T/munge.sock" -n </dev/null | unmunge -S "$T/munge.sock" >/dev/null || die "munged does not answer on $T/munge.sock"

# ---- slurm.conf: one node (this machine as slurmd -C sees it), one partition, no cgroups, no accounting
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
host=$(hostname -s)
ctld_port=$(free_port)
slurmd_port=$(free_port)
[ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$(free_port)
mkdir -p "$T/state" "$T/spool"
cat >"$T/slurm.conf" <<EOF
ClusterName=seqschtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge.sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
$(slurmd -C | head -n 1 | sed 's/^NodeName=[^ ]*/NodeName='"$host"' NodeAddr=127.0.0.1/') State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf
setsid slurmctld -D -f "$SLURM_CONF" >"$T/slurmctld.out.log" 2>&1 &
daemon[slurmctld]=$!
setsid slurmd -D -f "$SLURM_CONF" >"$T/slurmd.out.log" 2>&1 &
daemon[slurmd]=$!
for i in $(seq 1 60); do
  state=$(timeout 5 sinfo -h -n "$host" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  for name in munged slurmctld slurmd; do kill -0 "${daemon[$name]}" 2>/dev/null || die "$name exited at start"; done
  sleep 0.5
done
[ "$state" = idle ] || die "node $host not idle after 30 s (state: ${state:-none})"
say "cluster up: $(sinfo -h -o '%P %D node(s) %c CPUs %T')"

# ---- wait for a job to end; fail unless COMPLETED
job_state() { timeout 10 scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2; }
wait_job() { # JOBID TIMEOUT_S
  local id=$1 limit=$2 t0 s
  t0=$(date +%s)
  while :; do
    s=$(job_state "$id")
    case $s in
      COMPLETED) return 0 ;;
      FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED) die "job $id ended $s" ;;
    esac
    [ $(( $(date +%s) - t0 )) -lt "$limit" ] || die "job $id not done after $limit s (state ${s:-unknown})"
    sleep 1
  done
}

# ---- one sweep: submit.sh with 3 shards, wait for the merge; sets $dir (no subshell, so a signal is handled at once)
sweep() { # EXPERIMENT TIMEOUT_S
  local exp=$1 ids merge prep array t0
  dir=$T/sweep-$(basename "$exp" .yaml)
  ids=$(SWEEP_DIR=$dir DETAILS=1 bash deploy/slurm/submit.sh "$exp" 3 --time=15)
  merge=$(sed -n 's/^MERGE=//p' <<<"$ids")
  prep=$(sed -n 's/^PREPARE=//p' <<<"$ids")
  array=$(sed -n 's/^SHARDS_JOB=//p' <<<"$ids")
  t0=$(date +%s)
  wait_job "$merge" "$2"
  say "$exp: prepare $prep → array $array (3 tasks) → merge $merge done in $(( $(date +%s) - t0 )) s"
  # what the dependencies cost: from the prepare step's end to the first shard's start, from the last shard's end
  # to the merge's start (Slurm's times have 1 s resolution)
  times() { timeout 10 scontrol -o show job "$1" | grep -o "$2=[0-9T:-]*" | cut -d= -f2 | xargs -I{} date -d {} +%s | sort -n; }
  local prep_end first_start last_end merge_start
  prep_end=$(times "$prep" EndTime | tail -n 1); first_start=$(times "$array" StartTime | head -n 1)
  last_end=$(times "$array" EndTime | tail -n 1); merge_start=$(times "$merge" StartTime | head -n 1)
  say "$exp: prepare ran $(( prep_end - $(times "$prep" StartTime | head -n 1) )) s; array started $(( first_start - prep_end )) s after it; shards ran $(( last_end - first_start )) s; merge started $(( merge_start - last_end )) s after the last shard, ran $(( $(times "$merge" EndTime | tail -n 1) - merge_start )) s"
  [ "$(ls "$dir"/logs/shard-*.out | wc -l)" = 3 ] || die "expected 3 shard logs in $dir/logs"
}

# 1. simulated: 54 points over 3 shards; everything must match a single run exactly
sweep experiments/sim-ablation.yaml 300
node bin/seqsch.js experiment experiments/sim-ablation.yaml --results "$T/single" --details >/dev/null
ref=$(ls -d "$T"/single/sim-ablation-*)
node scripts/compare-results.mjs "$dir/merged" "$ref"
cmp "$dir/merged/table.md" "$ref/table.md" || die "table.md differs"

# 2. real engine: the prepare step computes lenpred; each run starts without its output, so each computes it
work=results/work/sweep-smoke
rm -rf "$work"
sweep experiments/sweep-smoke.yaml 600
cp "$work/val-length.json" "$T/val-length.slurm.json"
rm -rf "$work"
node bin/seqsch.js experiment experiments/sweep-smoke.yaml --results "$T/single" --details >/dev/null
ref=$(ls -d "$T"/single/sweep-smoke-*)
node scripts/compare-results.mjs "$dir/merged" "$ref" --ignore seconds,predict_seconds,fcr_seconds,throughput
cmp "$work/val-length.json" "$T/val-length.slurm.json" || die "lenpred output differs between the Slurm prepare step and the single run"
ls "$dir/merged/benchmark/"*.json >/dev/null || die "merged folder lacks the benchmark side files"
