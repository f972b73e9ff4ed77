"""Write each validation case's input trace: the token counts of an Azure LLM inference 2023 trace (as Vidur ships
them) with Poisson arrivals we draw ourselves, as our plain trace CSV `timestamp,prompt_tokens,response_tokens`.

Source rows: $VIDUR_SRC/data/processed_traces/splitwise_{conv,code}.csv (columns arrived_at, num_prefill_tokens,
num_decode_tokens: Azure's ContextTokens and GeneratedTokens; see README.md for provenance). We keep, in file order,
the first `requests` rows with prompt + response + 1 <= max_tokens (the + 1 is the EOS token, see README.md "Token
convention"), so Vidur's trace-replay generator never clips a prompt. The trace's own arrival times are dropped.

Arrivals: timestamp[0] = 0, then independent exponential gaps of mean 1/rate (numpy PCG64, seeded per trace and
load), rounded to whole microseconds so both simulators read the same decimal strings.

Modes:
  python3 make_traces.py cases             -> traces/<trace>-<load>.csv for every trace x load in cases.json
                                              (needs each trace's capacity_rps filled in)
  python3 make_traces.py saturation <dir>  -> <dir>/<trace>-saturation.csv: the same rows, all arriving at t = 0
                                              (to measure capacity with Vidur; see run_vidur.py capacity)
It does not: run anything or convert for Vidur (run_vidur.py writes Vidur's layout from these files).
"""

import csv
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def vidur_src():
    src = os.environ.get("VIDUR_SRC")
    if not src:
        sys.exit("VIDUR_SRC is not set: run setup.sh, or point it at an extracted microsoft/vidur tree")
    return src


def load_cases():
    with open(os.path.join(HERE, "cases.json")) as f:
        return json.load(f)


def token_rows(cases, trace):
    """The first `requests` (prompt, response) pairs of the trace that fit max_tokens with the EOS token."""
    spec = cases["traces"][trace]
    path = os.path.join(vidur_src(), spec["source"])
    max_tokens = cases["max_tokens"]
    rows = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        for line, row in enumerate(reader, start=2):
            try:
                prompt, response = int(row["num_prefill_tokens"]), int(row["num_decode_tokens"])
            except (KeyError, ValueError):
                sys.exit(f"{path}: row {line}: expected integer num_prefill_tokens, num_decode_tokens; got {row}")
            if prompt < 1 or response < 0:
                sys.exit(f"{path}: row {line}: prompt {prompt} < 1 or response {response} < 0")
            if prompt + response + 1 <= max_tokens:
                rows.append((prompt, response))
            if len(rows) == spec["requests"]:
                return rows
    sys.exit(f"{path}: only {len(rows)} rows fit {max_tokens} tokens; cases.json asks for {spec['requests']}")


def write_trace(path, timestamps, rows):
    with open(path, "w", newline="") as f:
        f.write("timestamp,prompt_tokens,response_tokens\n")
        for t, (prompt, response) in zip(timestamps, rows):
            f.write(f"{t:.6f},{prompt},{response}\n")


def poisson_timestamps(n, rate, seed):
    gaps = np.random.default_rng(seed).exponential(1.0 / rate, size=n - 1)
    return np.concatenate([[0.0], np.cumsum(gaps)])


def main():
    cases = load_cases()
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "saturation" and len(sys.argv) == 3:
        os.makedirs(sys.argv[2], exist_ok=True)
        for trace in cases["traces"]:
            rows = token_rows(cases, trace)
            path = os.path.join(sys.argv[2], f"{trace}-saturation.csv")
            write_trace(path, [0.0] * len(rows), rows)
            print(f"{path}: {len(rows)} requests at t = 0")
    elif mode == "cases":
        os.makedirs(os.path.join(HERE, "traces"), exist_ok=True)
        for trace, spec in cases["traces"].items():
            if not spec.get("capacity_rps"):
                sys.exit(f"cases.json: traces.{trace}.capacity_rps is not set (run run_vidur.py capacity first)")
            rows = token_rows(cases, trace)
            for load, load_spec in cases["loads"].items():
                rate = load_spec["fraction"] * spec["capacity_rps"]
                ts = poisson_timestamps(len(rows), rate, spec["seed"] + load_spec["seed_offset"])
                path = os.path.join(HERE, "traces", f"{trace}-{load}.csv")
                write_trace(path, ts, rows)
                print(f"{path}: {len(rows)} requests, Poisson {rate:.4f} req/s, last arrival {ts[-1]:.1f} s")
    else:
        sys.exit("usage: make_traces.py cases | make_traces.py saturation <dir>")


if __name__ == "__main__":
    main()
