/**
 * The layers of src/ (docs/architecture.md), checked by `npm run lint:deps` (dependency-cruiser): each folder may
 * import only from its own layer or the layers below it, and no module may reach itself again through its imports
 * (type-only and dynamic imports count). Folders of one layer may import each other as long as no cycle forms.
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
const rank = new Map(LAYERS.flatMap((fs, i) => fs.map((f) => [f, i])));
const above = (i) => LAYERS.slice(i + 1).flat();

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'a module reaches itself again through its imports',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-unknown-folder',
      severity: 'error',
      comment: 'every folder of src/ has a place in the layers of .dependency-cruiser.cjs',
      from: { path: '^src/', pathNot: [`^src/(${[...rank.keys()].join('|')})/`, '^src/[^/]+\\.ts$'] },
      to: {},
    },
    ...LAYERS.flatMap((folders, i) =>
      i === LAYERS.length - 1
        ? []
        : folders.map((f) => ({
            name: `layer-${f}`,
            severity: 'error',
            comment: `${f}/ may import only from its own layer and below`,
            from: { path: `^src/${f}/` },
            to: { path: `^src/(${above(i).join('|')})/|^src/[^/]+\\.ts$` },
          })),
    ),
    {
      name: 'entry-points-on-top',
      severity: 'error',
      comment: 'src/cli.ts and src/index.ts are entry points: no folder imports them',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
