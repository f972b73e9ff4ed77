"""Evaluate Vidur's trained execution-time predictor (the random forests run_vidur.py's runs trained and cached) on a
grid of batch shapes, for checking our GPU cost model op by op.

Shapes (Llama-2-7B, A100, TP 1; Vidur's Request/Batch objects built as its schedulers build them):
  decode   B rows (1..128), each with KV = tokens already in the cache (Vidur: request.num_processed_tokens), 1 token
  prefill  one prompt chunk of C tokens (64..4096) with KV 0
  mixed    B decode rows at KV_d plus one prefill chunk of C = 512 or 512 - B tokens (a Sarathi 512-token budget)
           whose request already has KV_p tokens cached
Writes results/batch-times.csv, one row per shape:
  kind, decode_rows, decode_kv, prefill_chunk, prefill_kv, batch_tokens,
  vidur_total_ms     the whole batch: model time + CPU overheads (0 here: skip_cpu_overhead_modeling is Vidur's
                     default, True)
  vidur_model_ms     32 layers x (sum of the per-layer ops below); no embedding, LM head or sampling
  <op>_ms            each per-layer op's prediction x 32 layers: attn_pre_proj, attn_post_proj, attn_rope,
                     attn_kv_cache_save, attn_decode, attn_prefill, mlp_up_proj, mlp_down_proj, mlp_act,
                     input_layernorm, post_attention_layernorm, add
Vidur's rules applied by its predictor (not by us): linear ops at the batch's token count rounded up to a multiple
of 8; decode attention at (rows, mean KV rounded up to 64); prefill attention at (KV rounded up to 64, chunk^2).
Environment: VIDUR_SRC, VIDUR_WORK, VIDUR_FULL_GRID as for run_vidur.py; run it after run_vidur.py has trained the models (or it
trains them, ~15-20 min on 2 cores).
It does not: run a simulation.
"""

import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if not os.environ.get("VIDUR_SRC") or not os.path.isdir(os.path.join(os.environ["VIDUR_SRC"], "vidur")):
    sys.exit(f"VIDUR_SRC={os.environ.get('VIDUR_SRC')!r} is not an extracted microsoft/vidur tree (run setup.sh)")
sys.path[:0] = [os.path.join(HERE, "shims"), os.path.abspath(os.environ["VIDUR_SRC"])]

from vidur_cache import drop_stale_predictions  # noqa: E402 (after the path set-up, like the vidur imports)
WORK = os.environ.get("VIDUR_WORK", os.path.join(HERE, "work"))
FULL_GRID = os.environ.get("VIDUR_FULL_GRID") == "1"
CACHE = os.path.join(WORK, "cache-full-grid" if FULL_GRID else "cache")

OPS = [
    ("attn_pre_proj", "_attention_layer_pre_proj_execution_time"),
    ("attn_post_proj", "_attention_layer_post_proj_execution_time"),
    ("attn_rope", "_attention_rope_execution_time"),
    ("attn_kv_cache_save", "_attention_kv_cache_save_execution_time"),
    ("attn_decode", "_attention_decode_execution_time"),
    ("attn_prefill", "_attention_prefill_execution_time"),
    ("mlp_up_proj", "_mlp_layer_up_proj_execution_time"),
    ("mlp_down_proj", "_mlp_layer_down_proj_execution_time"),
    ("mlp_act", "_mlp_layer_act_execution_time"),
    ("input_layernorm", "_attn_norm_time"),
    ("post_attention_layernorm", "_mlp_norm_time"),
    ("add", "_add_time"),
]


def build_predictor(cases):
    from vidur.config import (
        MetricsConfig,
        RandomForrestExecutionTimePredictorConfig,
        ReplicaConfig,
        VllmSchedulerConfig,
    )
    from vidur.execution_time_predictor.random_forrest_execution_time_predictor import (
        RandomForrestExecutionTimePredictor,
    )

    attention = os.path.join(WORK, "attention.csv")
    if not os.path.exists(attention):
        sys.exit(f"{attention} is missing: run run_vidur.py first (it builds the profile and trains the models)")
    drop_stale_predictions(CACHE, [os.path.join(ROOT, "data/profiles/vidur/a100_llama2_7b_mlp.csv"), attention])
    replica = ReplicaConfig(
        model_name=cases["model"],
        device=cases["device"],
        tensor_parallel_size=cases["tensor_parallel_size"],
        num_pipeline_stages=cases["num_pipeline_stages"],
    )
    # The scheduler type only matters to the predictor for Orca; block size enters the cache key.
    sched = VllmSchedulerConfig(batch_size_cap=cases["batch_size_cap"], block_size=cases["block_size"])
    metrics = MetricsConfig(output_dir=os.path.join(WORK, "out", "batch-times"), cache_dir=CACHE)
    grid = {} if FULL_GRID else cases["predictor"]["grid"]  # as run_vidur.py passes it
    predictor_config = RandomForrestExecutionTimePredictorConfig(
        compute_input_file=os.path.join(ROOT, "data/profiles/vidur/a100_llama2_7b_mlp.csv"),
        attention_input_file=attention,
        **grid,
    )
    return RandomForrestExecutionTimePredictor(predictor_config, replica, sched, metrics)


def decode_request(kv):
    from vidur.entities import Request

    r = Request(arrived_at=0.0, num_prefill_tokens=kv, num_decode_tokens=8192, num_processed_tokens=kv)
    r._is_prefill_complete = True
    return r


def prefill_request(kv, chunk):
    from vidur.entities import Request

    return Request(arrived_at=0.0, num_prefill_tokens=kv + chunk, num_decode_tokens=1, num_processed_tokens=kv)


def shapes():
    for b in [1, 2, 4, 8, 16, 32, 48, 64, 96, 128]:
        for kv in [128, 256, 512, 768, 1024, 1280, 1472, 1536, 1792, 2048, 2560, 3072, 4096]:
            yield ("decode", b, kv, 0, 0)
    for c in [64, 128, 256, 512, 768, 1024, 1536, 2048, 3072, 4096]:
        yield ("prefill", 0, 0, c, 0)
    for b in [1, 16, 64, 127]:
        for kv_d in [512, 2048]:
            for kv_p in [0, 1024, 2048, 3072]:
                for c in sorted({512, 512 - b}):
                    yield ("mixed", b, kv_d, c, kv_p)


def main():
    import json

    from vidur.entities import Batch

    with open(os.path.join(HERE, "cases.json")) as f:
        cases = json.load(f)
    predictor = build_predictor(cases)
    out_path = os.path.join(HERE, "results", "batch-times.csv")
    cols = ["kind", "decode_rows", "decode_kv", "prefill_chunk", "prefill_kv", "batch_tokens", "vidur_total_ms",
            "vidur_model_ms"] + [f"{name}_ms" for name, _ in OPS]
    with open(out_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for kind, b, kv_d, chunk, kv_p in shapes():
            requests = [decode_request(kv_d) for _ in range(b)]
            num_tokens = [1] * b
            if chunk:
                requests.append(prefill_request(kv_p, chunk))
                num_tokens.append(chunk)
            t = predictor.get_execution_time(Batch(0, requests, num_tokens), 0)
            layers = t.num_layers
            row = [kind, b, kv_d, chunk, kv_p, sum(num_tokens), f"{t.total_time * 1e3:.6f}", f"{t.model_time_ms:.6f}"]
            row += [f"{getattr(t, attr) * layers:.6f}" for _, attr in OPS]
            w.writerow(row)
    print(f"{out_path}: written")


if __name__ == "__main__":
    main()
