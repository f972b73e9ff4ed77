/**
 * The layers of src/, lowest first: a folder may import from its own layer and the layers below it, never above.
 * Read by .dependency-cruiser.cjs (the rules `npm run lint:deps` checks) and scripts/deps-graph.mjs (the picture in
 * docs/architecture.md). A new folder of src/ gets its place here, or lint:deps refuses it.
 */
const LAYERS = [
  ['util'], // file helpers, progress bars, markdown: no project imports
  ['kernels'], // native CPU kernels for the wasm backend
  ['core'], // the shared vocabulary: backend choice, query type, names, the option-table machinery
  ['tokenizer'],
  ['data'], // conversations, the paper's prompts, the synthetic corpus
  ['scheduling', 'workload'], // buckit / VBS / schedule; sampling, arrivals, traces
  ['model'], // LLaMA, LoRA, KV caches, checkpoints
  ['generation', 'training'],
  ['scoring', 'cost'], // Error / Acc / τ / ρ and the length heads; cost models and their fitting
  ['proxy'], // small length predictors trained on recorded traces
  ['perception'], // lenpred, construct, the LoRA predictor, the hidden-state probe
  ['engines'], // batch and step engines (tfjs, simulated), model loading, the prompt store
  ['benchmark'], // the paper's static loop
  ['serving'], // the continuous-batching loop, its policies and plan
  ['jobs'], // one job per concept: { options, run }
  ['experiment'], // YAML stages, sweeps, shards, merge, reports: a mount of the jobs
  ['commands'], // the CLI: a mount of the jobs
];

module.exports = { LAYERS };
