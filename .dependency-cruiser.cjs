/**
 * The layers of src/ (docs/architecture.md), checked by `npm run lint:deps` (dependency-cruiser): each folder may
 * import only from its own layer or the layers below it, and no module may reach itself again through its imports
 * (type-only and dynamic imports count). Folders of one layer may import each other as long as no cycle forms.
 */
const { LAYERS } = require('./scripts/layers.cjs');
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
