"""Write the attention profile Vidur's random-forest predictor reads, from our committed subset of Vidur's own rows.

Input (repository data, MIT, from microsoft/vidur via data/profiles/vidur/README.md):
  data/profiles/vidur/a100_llama2_7b_tp1_attention_decode_sample.csv   batch_size, kv_cache_size, attn_decode_median_ms
  data/profiles/vidur/a100_llama2_7b_tp1_attention_prefill_sample.csv  prefill_chunk_size, kv_cache_size,
                                                                        attn_prefill_median_ms
Output: one CSV in Vidur's attention.csv layout (the columns vidur/execution_time_predictor/
sklearn_execution_time_predictor.py `_load_attention_df` and `_train_attention_layer_models` read):
  time_stats.attn_decode.median, time_stats.attn_prefill.median   ms per layer (the other op's column left empty,
                                                                    as in Vidur's own file)
  n_embd, n_q_head, n_kv_head, block_size, num_tensor_parallel_workers, max_model_len   Llama-2-7B, TP 1, block 16
  batch_size, prefill_chunk_size, kv_cache_size, is_prefill   decode rows: prefill_chunk_size 0; prefill rows: batch 1
No `time_stats.attn_kv_cache_save.median` column is written: Vidur's own A100 Llama-2-7B attention.csv has none
either (its header: attn_input_reshape, attn_decode, attn_output_reshape, attn_prefill), and Vidur's loader then
fills the KV-cache-save time with 0 -- so leaving it out reproduces what Vidur does with its complete file.
The min/max/mean/std columns and attn_input_reshape/attn_output_reshape are not read by the predictor; we have only
medians and do not write them.
It does not: fill in rows we do not have (the predictor fits on the subset; see README.md, "What could not be
matched").

Usage: python3 build_attention_profile.py <repo root> <output csv>
"""

import csv
import sys

# Llama-2-7B shape (Hugging Face config) and the run's paging: must equal what Vidur filters on.
SHAPE = {
    "n_embd": 4096,
    "n_q_head": 32,
    "n_kv_head": 32,
    "block_size": 16,
    "num_tensor_parallel_workers": 1,
    "max_model_len": 4096,
}
COLUMNS = [
    "time_stats.attn_decode.median",
    "time_stats.attn_prefill.median",
    *SHAPE.keys(),
    "batch_size",
    "prefill_chunk_size",
    "kv_cache_size",
    "is_prefill",
]


def read_rows(path, expected):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != expected:
            sys.exit(f"{path}: expected columns {expected}, found {reader.fieldnames}")
        rows = []
        for i, row in enumerate(reader, start=2):
            try:
                rows.append({k: float(v) for k, v in row.items()})
            except ValueError:
                sys.exit(f"{path}: row {i} is not numeric: {row}")
        return rows


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: build_attention_profile.py <repo root> <output csv>")
    root, out_path = sys.argv[1], sys.argv[2]
    base = f"{root}/data/profiles/vidur/a100_llama2_7b_tp1_attention"
    decode = read_rows(f"{base}_decode_sample.csv", ["batch_size", "kv_cache_size", "attn_decode_median_ms"])
    prefill = read_rows(
        f"{base}_prefill_sample.csv", ["prefill_chunk_size", "kv_cache_size", "attn_prefill_median_ms"]
    )
    with open(out_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in decode:
            w.writerow(
                {
                    **SHAPE,
                    "time_stats.attn_decode.median": r["attn_decode_median_ms"],
                    "time_stats.attn_prefill.median": "",
                    "batch_size": int(r["batch_size"]),
                    "prefill_chunk_size": 0,
                    "kv_cache_size": int(r["kv_cache_size"]),
                    "is_prefill": False,
                }
            )
        for r in prefill:
            w.writerow(
                {
                    **SHAPE,
                    "time_stats.attn_decode.median": "",
                    "time_stats.attn_prefill.median": r["attn_prefill_median_ms"],
                    "batch_size": 1,
                    "prefill_chunk_size": int(r["prefill_chunk_size"]),
                    "kv_cache_size": int(r["kv_cache_size"]),
                    "is_prefill": True,
                }
            )
    print(f"{out_path}: {len(decode)} decode + {len(prefill)} prefill rows")


if __name__ == "__main__":
    main()
