// Loads the project's library (src/index.ts) into a notebook: `const seqsch = await require('./seqsch.cjs')()`.
// tslab compiles cells to CommonJS, and the library is ESM TypeScript, so `bash scripts/notebooks.sh --build`
// bundles it with esbuild into .build/seqsch.mjs (deps stay in node_modules) and this file import()s it.
// (.build/ must stay two folders below the repo root: src/kernels/blas.ts finds the repo from its own URL.)
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

module.exports = function loadSeqsch() {
  const bundle = join(__dirname, '.build', 'seqsch.mjs');
  if (!existsSync(bundle)) {
    return Promise.reject(new Error(`${bundle} is missing: run \`bash scripts/notebooks.sh --build\` from the repo root first`));
  }
  return import(pathToFileURL(bundle).href);
};
