"""Run Vidur on the validation cases of cases.json and keep small per-request results and a summary per case.

  python3 run_vidur.py capacity     saturated throughput of each trace x scheduler (all requests at t = 0; needs
                                    `make_traces.py saturation work/traces`); writes results/capacity.json and the
                                    smaller of the two schedulers' figures into cases.json traces.<t>.capacity_rps
  python3 run_vidur.py run [CASE..] every case (trace x load x scheduler), or the named ones
  python3 run_vidur.py table        the summaries as README.md's Markdown table

For each case it converts traces/<trace>-<load>.csv (timestamp, prompt_tokens, response_tokens G) to Vidur's
trace-replay layout (arrived_at, num_prefill_tokens, num_decode_tokens = G + 1: Vidur counts every generated token,
the one the prefill completes included; we count the answer and then EOS), runs vidur_entry.py (vidur.main plus a
paging observer) under `nice -n 19`, and writes
  results/<case>.csv           arrived_at, num_prefill_tokens, num_decode_tokens, prefill_completed_at, completed_at,
                               num_restarts (seconds; num_decode_tokens is Vidur's D = G + 1)
  results/<case>.summary.json  metrics.py's summary + Vidur's paging figures + run time
Per-request times come from Vidur's request_metrics.csv: completed_at = arrived_at + request_e2e_time,
prefill_completed_at = arrived_at + prefill_e2e_time (Vidur keeps the first prefill's completion across restarts),
num_restarts = request_num_restarts; rows are matched to the trace by Vidur's request id (0.. in trace order) and
their token counts checked against Vidur's request_num_prefill_tokens / request_num_decode_tokens.
Environment: VIDUR_SRC (required; an extracted microsoft/vidur tree), VIDUR_PYTHON (default /usr/bin/python3 if
present, else python3), VIDUR_WORK (default validation/vidur/work: Vidur's model cache and raw output), VIDUR_FULL_GRID=1 (train with
Vidur's default random-forest grid instead of cases.json predictor.grid; see README.md).
It does not: run our simulator (compare.mjs reads our serve-bench output).
"""

import csv
import json
import os
import subprocess
import sys
import time

from metrics import summarize
from vidur_cache import drop_stale_predictions

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORK = os.environ.get("VIDUR_WORK", os.path.join(HERE, "work"))
FULL_GRID = os.environ.get("VIDUR_FULL_GRID") == "1"
CACHE = os.path.join(WORK, "cache-full-grid" if FULL_GRID else "cache")
MLP_PROFILE = "data/profiles/vidur/a100_llama2_7b_mlp.csv"
PYTHON = os.environ.get("VIDUR_PYTHON", "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3")


def vidur_src():
    src = os.environ.get("VIDUR_SRC")
    if not src or not os.path.isdir(os.path.join(src, "vidur")):
        sys.exit(f"VIDUR_SRC={src!r} is not an extracted microsoft/vidur tree (run setup.sh)")
    return os.path.abspath(src)


def load_cases():
    with open(os.path.join(HERE, "cases.json")) as f:
        return json.load(f)


def case_list(cases):
    """Every (name, trace, load, scheduler): trace x load x scheduler."""
    return [
        (f"{trace}-{load}-{sched}", trace, load, sched)
        for trace in cases["traces"]
        for load in cases["loads"]
        for sched in cases["schedulers"]
    ]


def read_our_trace(path):
    rows = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != ["timestamp", "prompt_tokens", "response_tokens"]:
            sys.exit(f"{path}: expected columns timestamp,prompt_tokens,response_tokens; got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            try:
                rows.append((row["timestamp"], int(row["prompt_tokens"]), int(row["response_tokens"])))
            except ValueError:
                sys.exit(f"{path}: row {line} is not numeric: {row}")
    return rows


def write_vidur_trace(rows, path):
    """Our rows -> Vidur's trace-replay CSV; the timestamp string is copied, so both sides parse the same decimal."""
    with open(path, "w", newline="") as f:
        f.write("arrived_at,num_prefill_tokens,num_decode_tokens\n")
        for ts, prompt, response in rows:
            f.write(f"{ts},{prompt},{response + 1}\n")


def vidur_args(cases, sched, trace_csv, out_dir):
    s = cases["schedulers"][sched]["vidur"]
    t = s["type"]
    args = [
        "--replica_config_device", cases["device"],
        "--replica_config_model_name", cases["model"],
        "--replica_config_tensor_parallel_size", str(cases["tensor_parallel_size"]),
        "--replica_config_num_pipeline_stages", str(cases["num_pipeline_stages"]),
        "--cluster_config_num_replicas", str(cases["num_replicas"]),
        "--replica_scheduler_config_type", t,
        f"--{t}_scheduler_config_batch_size_cap", str(cases["batch_size_cap"]),
        f"--{t}_scheduler_config_block_size", str(cases["block_size"]),
        "--request_generator_config_type", "trace_replay",
        "--trace_request_generator_config_trace_file", trace_csv,
        "--trace_request_generator_config_max_tokens", str(cases["max_tokens"]),
        "--execution_time_predictor_config_type", "random_forrest",
        "--random_forrest_execution_time_predictor_config_compute_input_file",
        os.path.join(ROOT, MLP_PROFILE),
        "--random_forrest_execution_time_predictor_config_attention_input_file",
        os.path.join(WORK, "attention.csv"),
        "--no-metrics_config_store_plots",
        "--no-metrics_config_enable_chrome_trace",
        "--metrics_config_output_dir", out_dir,
        "--metrics_config_cache_dir", CACHE,
    ]
    if not FULL_GRID:
        # Vidur's cache key omits the grid, hence the separate cache folder per choice
        for key, values in cases["predictor"]["grid"].items():
            args += [f"--random_forrest_execution_time_predictor_config_{key}"] + [str(v) for v in values]
    if t == "vllm":
        args += ["--vllm_scheduler_config_max_tokens_in_batch", str(s["max_tokens_in_batch"])]
    elif t == "sarathi":
        args += ["--sarathi_scheduler_config_chunk_size", str(s["chunk_size"])]
    else:
        sys.exit(f"cases.json: schedulers.{sched}.vidur.type {t!r} is neither vllm nor sarathi")
    return args


_prepared = False


def prepare_profiles():
    """Once per invocation: (re)build work/attention.csv from the committed samples (deterministic, so Vidur's model
    hashes stay put when the samples do) and drop Vidur's prediction tables if they came from other profiles
    (vidur_cache.py: Vidur's prediction cache key leaves the training data out)."""
    global _prepared
    if _prepared:
        return
    attention = os.path.join(WORK, "attention.csv")
    subprocess.run([PYTHON, os.path.join(HERE, "build_attention_profile.py"), ROOT, attention], check=True)
    drop_stale_predictions(CACHE, [os.path.join(ROOT, MLP_PROFILE), attention])
    _prepared = True


def run_vidur(cases, sched, trace_csv, name):
    """Run Vidur once; returns (its timestamped output folder, wall seconds)."""
    prepare_profiles()
    out_root = os.path.join(WORK, "out", name)
    os.makedirs(out_root, exist_ok=True)
    before = set(os.listdir(out_root))
    src = vidur_src()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(HERE, "shims"), src]))
    cmd = ["nice", "-n", "19", PYTHON, os.path.join(HERE, "vidur_entry.py")] + vidur_args(
        cases, sched, trace_csv, out_root
    )
    log_path = os.path.join(out_root, "vidur.log")
    start = time.time()
    with open(log_path, "a") as log:
        result = subprocess.run(cmd, cwd=src, env=env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.time() - start
    if result.returncode != 0:
        sys.exit(f"Vidur failed on {name} (exit {result.returncode}); see {log_path}")
    new = sorted(set(os.listdir(out_root)) - before - {"vidur.log"})
    if len(new) != 1:
        sys.exit(f"{out_root}: expected one new Vidur output folder, found {new}")
    return os.path.join(out_root, new[0]), wall


def read_vidur_requests(out_dir, rows):
    """Vidur's request_metrics.csv -> per-request dicts in trace order (D = G + 1)."""
    path = os.path.join(out_dir, "request_metrics.csv")
    with open(path, newline="") as f:
        by_id = {int(r["Request Id"]): r for r in csv.DictReader(f)}
    if sorted(by_id) != list(range(len(rows))):
        sys.exit(f"{path}: request ids are not 0..{len(rows) - 1} (did every request complete?)")
    out = []
    for i, (ts, prompt, response) in enumerate(rows):
        r = by_id[i]
        p, d = int(float(r["request_num_prefill_tokens"])), int(float(r["request_num_decode_tokens"]))
        if (p, d) != (prompt, response + 1):
            sys.exit(f"{path}: request {i} has ({p}, {d}) tokens; the trace row says ({prompt}, {response} + 1)")
        arrived = float(ts)
        out.append(
            {
                "arrived_at": arrived,
                "num_prefill_tokens": p,
                "num_decode_tokens": d,
                "prefill_completed_at": arrived + float(r["prefill_e2e_time"]),
                "completed_at": arrived + float(r["request_e2e_time"]),
                "num_restarts": int(float(r["request_num_restarts"])),
            }
        )
    return out


def write_results(requests, path):
    cols = ["arrived_at", "num_prefill_tokens", "num_decode_tokens", "prefill_completed_at", "completed_at",
            "num_restarts"]
    with open(path, "w", newline="") as f:
        f.write(",".join(cols) + "\n")
        for r in requests:
            f.write(
                f"{r['arrived_at']:.6f},{r['num_prefill_tokens']},{r['num_decode_tokens']},"
                f"{r['prefill_completed_at']:.9f},{r['completed_at']:.9f},{r['num_restarts']}\n"
            )


def read_paging(out_dir):
    with open(os.path.join(out_dir, "paging.json")) as f:
        return json.load(f)


def cmd_capacity(cases):
    results = {}
    for trace, spec in cases["traces"].items():
        src = os.path.join(WORK, "traces", f"{trace}-saturation.csv")
        if not os.path.exists(src):
            sys.exit(f"{src} is missing: run `python3 make_traces.py saturation {os.path.join(WORK, 'traces')}`")
        rows = read_our_trace(src)
        vidur_csv = os.path.join(WORK, "traces", f"{trace}-saturation.vidur.csv")
        write_vidur_trace(rows, vidur_csv)
        per_sched = {}
        for sched in cases["schedulers"]:
            out_dir, wall = run_vidur(cases, sched, vidur_csv, f"{trace}-saturation-{sched}")
            s = summarize(read_vidur_requests(out_dir, rows))
            per_sched[sched] = {"throughput_rps": s["throughput_rps"], "makespan_s": s["makespan_s"],
                                "vidur_wall_s": round(wall, 1)}
            print(f"{trace} {sched}: {s['throughput_rps']:.4f} req/s saturated ({wall:.0f} s)")
        capacity = min(v["throughput_rps"] for v in per_sched.values())
        results[trace] = {"requests": len(rows), "schedulers": per_sched, "capacity_rps": round(capacity, 4)}
        spec["capacity_rps"] = round(capacity, 4)
    with open(os.path.join(HERE, "results", "capacity.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(cases, f, indent=2)
        f.write("\n")


def cmd_run(cases, names):
    selected = [c for c in case_list(cases) if not names or c[0] in names]
    unknown = set(names) - {c[0] for c in case_list(cases)}
    if unknown:
        sys.exit(f"unknown case(s) {sorted(unknown)}; cases.json defines {[c[0] for c in case_list(cases)]}")
    os.makedirs(os.path.join(WORK, "traces"), exist_ok=True)
    for name, trace, load, sched in selected:
        src = os.path.join(HERE, "traces", f"{trace}-{load}.csv")
        rows = read_our_trace(src)
        vidur_csv = os.path.join(WORK, "traces", f"{trace}-{load}.vidur.csv")
        write_vidur_trace(rows, vidur_csv)
        out_dir, wall = run_vidur(cases, sched, vidur_csv, name)
        requests = read_vidur_requests(out_dir, rows)
        write_results(requests, os.path.join(HERE, "results", f"{name}.csv"))
        paging = read_paging(out_dir)
        summary = {
            "case": name,
            "trace": f"traces/{trace}-{load}.csv",
            "scheduler": cases["schedulers"][sched]["vidur"],
            "rate_rps": round(cases["loads"][load]["fraction"] * cases["traces"][trace]["capacity_rps"], 6),
            **summarize(requests),
            "vidur_paging": paging,
            "peak_kv_blocks": paging["peak_allocated_blocks"],
            "peak_kv_tokens": paging["peak_allocated_blocks"] * paging["block_size"],
            "vidur_wall_s": round(wall, 1),
        }
        with open(os.path.join(HERE, "results", f"{name}.summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
        print(
            f"{name}: {summary['throughput_rps']:.3f} req/s, e2e mean {summary['e2e_s']['mean']:.3f} s, "
            f"TTFT p50 {summary['ttft_s']['p50']:.3f} s, TBT mean {summary['tbt_s']['mean'] * 1e3:.2f} ms, "
            f"restarts {summary['restarts']}, peak blocks {summary['peak_kv_blocks']} ({wall:.0f} s)"
        )


def cmd_table(cases):
    """results/*.summary.json -> the Markdown table of README.md."""
    print("| case | rate (req/s) | throughput (req/s) | output tok/s | e2e mean / p50 / p99 (s) | TTFT mean / p50 / p99 (s) "
          "| TBT mean / p50 / p99 (ms) | restarts | peak KV blocks | Vidur wall (s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, *_ in case_list(cases):
        path = os.path.join(HERE, "results", f"{name}.summary.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            s = json.load(f)
        e, t, b = s["e2e_s"], s["ttft_s"], s["tbt_s"]
        print(
            f"| {name} | {s['rate_rps']:.3f} | {s['throughput_rps']:.3f} | {s['output_tokens_per_s']:.0f} "
            f"| {e['mean']:.2f} / {e['p50']:.2f} / {e['p99']:.2f} | {t['mean']:.3f} / {t['p50']:.3f} / {t['p99']:.3f} "
            f"| {b['mean'] * 1e3:.1f} / {b['p50'] * 1e3:.1f} / {b['p99'] * 1e3:.1f} | {s['restarts']} "
            f"| {s['peak_kv_blocks']} | {s['vidur_wall_s']:.0f} |"
        )


def main():
    cases = load_cases()
    if len(sys.argv) == 2 and sys.argv[1] == "table":
        return cmd_table(cases)
    if len(sys.argv) >= 2 and sys.argv[1] == "capacity":
        cmd_capacity(cases)
    elif len(sys.argv) >= 2 and sys.argv[1] == "run":
        cmd_run(cases, sys.argv[2:])
    else:
        sys.exit("usage: run_vidur.py capacity | run_vidur.py run [CASE...] | run_vidur.py table")


if __name__ == "__main__":
    main()
