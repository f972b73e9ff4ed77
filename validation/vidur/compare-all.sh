#!/usr/bin/env bash
# Our simulator on every validation case (cases.json: 2 traces × 2 loads × 2 schedulers), like for like with Vidur —
# its KV pool (7,424 blocks) and watermark, batch cap 128, uncut lengths, and for its `vllm` scheduler the padded
# prefill budget it uses (--prefill-budget padded) — then compare.mjs on each, and one markdown table of every
# metric's difference (ours − Vidur) / Vidur in %. Run from anywhere; needs the CLI built (node scripts/build-cli.mjs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$root"
for t in azure-conv azure-code; do
  for l in load50 load88; do
    for s in vllm sarathi; do
      if [ "$s" = vllm ]; then b=(--batching prefill-first --max-num-batched-tokens 4096 --prefill-budget padded)
      else b=(--batching chunked --max-num-batched-tokens 512); fi
      node bin/seqsch.js serve-bench --engine sim --trace "validation/vidur/traces/$t-$l.csv" --trace-requests \
        --arrival trace --cost-model data/costmodels/a100-llama2-7b.json "${b[@]}" --max-batch 128 --block-size 16 \
        --num-gpu-blocks 7424 --kv-watermark 0.01 --max-length 4096 --recorded-max-length 4096 \
        --out "$out/$t-$l-$s.json" > /dev/null 2>&1
      node "$here/compare.mjs" "$t-$l-$s" "$out/$t-$l-$s.json" --json "$out/$t-$l-$s.cmp.json" > /dev/null
    done
  done
done
node -e '
const fs = require("fs"), path = require("path");
const files = fs.readdirSync(process.argv[1]).filter((f) => f.endsWith(".cmp.json")).sort();
const all = files.map((f) => JSON.parse(fs.readFileSync(path.join(process.argv[1], f), "utf8")));
const metrics = all[0].rows.map((r) => r.metric);
console.log("| metric | " + all.map((c) => c.case).join(" | ") + " |");
console.log("| --- |" + all.map(() => " ---: |").join(""));
for (const m of metrics) {
  const cells = all.map((c) => { const r = c.rows.find((x) => x.metric === m); const d = r.diff_pct;
    return Math.abs(d) > 10 ? `**${d.toFixed(1)}**` : d.toFixed(1); });
  console.log(`| ${m} | ${cells.join(" | ")} |`);
}
console.log("| preemptions ours / Vidur | " + all.map((c) => `${c.recomputes} / ${c.restarts}`).join(" | ") + " |");
' "$out"
