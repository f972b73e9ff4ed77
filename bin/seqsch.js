#!/usr/bin/env node
// The `seqsch` command. Runs dist/cli.js, the TypeScript sources transpiled one file each by
// scripts/build-cli.mjs, which first refreshes dist/ when anything under src/ changed (a fingerprint check,
// ~1 ms), so a checkout needs no build step. Where dist/ cannot be written or esbuild is missing, or with
// SEQSCH_TSX=1, it runs src/cli.ts through tsx instead (same behaviour, ~1–2 s slower to start).
// SEQSCH_DEBUG=1 prints stack traces mapped to the TypeScript lines.
if (process.env.SEQSCH_DEBUG) process.setSourceMapsEnabled(true);
let useDist = process.env.SEQSCH_TSX !== '1';
if (useDist) {
  try {
    const { ensureCliBuilt } = await import('../scripts/build-cli.mjs');
    await ensureCliBuilt();
  } catch (e) {
    useDist = false;
    if (process.env.SEQSCH_DEBUG) console.error(`seqsch: running through tsx (dist/ not usable: ${e.message})`);
  }
}
if (useDist) {
  await import('../dist/cli.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
