"""The validation metrics of a run, from per-request times (seconds); compare.mjs computes the same in JavaScript.

Per request: e2e = completed_at - arrived_at; TTFT = prefill_completed_at - arrived_at (first token);
TBT = (completed_at - prefill_completed_at) / (D - 1), D = num_decode_tokens = generated tokens including the one
the prefill completes (requests with D = 1 have no TBT and are left out of it).
Run: makespan = max completed_at - min arrived_at; throughput = requests / makespan, output tokens (sum D) /
makespan and total tokens (sum of prompt + D) / makespan. Percentiles: linear interpolation between order
statistics (numpy's default, Hyndman-Fan type 7): sorted x, h = (n - 1) q, x[floor h] + (h - floor h) (x[ceil h] -
x[floor h]).
Vidur's own decode_time_execution_plus_preemption_normalized is (completed_at - prefill_completed_at) / D: ours
times (D - 1) / D.
It does not: read files (run_vidur.py passes the requests).
"""

import math


def percentile(sorted_values, q):
    h = (len(sorted_values) - 1) * q
    lo, hi = math.floor(h), math.ceil(h)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


def distribution(values):
    s = sorted(values)
    return {"mean": sum(s) / len(s), "p50": percentile(s, 0.5), "p99": percentile(s, 0.99), "n": len(s)}


def summarize(requests):
    """requests: dicts with arrived_at, num_prefill_tokens, num_decode_tokens, prefill_completed_at, completed_at,
    num_restarts."""
    if not requests:
        raise ValueError("summarize: no requests")
    makespan = max(r["completed_at"] for r in requests) - min(r["arrived_at"] for r in requests)
    output_tokens = sum(r["num_decode_tokens"] for r in requests)
    total_tokens = output_tokens + sum(r["num_prefill_tokens"] for r in requests)
    tbt = [
        (r["completed_at"] - r["prefill_completed_at"]) / (r["num_decode_tokens"] - 1)
        for r in requests
        if r["num_decode_tokens"] > 1
    ]
    return {
        "requests": len(requests),
        "makespan_s": makespan,
        "throughput_rps": len(requests) / makespan,
        "output_tokens_per_s": output_tokens / makespan,
        "total_tokens_per_s": total_tokens / makespan,
        "e2e_s": distribution([r["completed_at"] - r["arrived_at"] for r in requests]),
        "ttft_s": distribution([r["prefill_completed_at"] - r["arrived_at"] for r in requests]),
        "tbt_s": distribution(tbt),
        "restarts": sum(r["num_restarts"] for r in requests),
        "requests_restarted": sum(1 for r in requests if r["num_restarts"] > 0),
    }
