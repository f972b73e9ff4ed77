/**
 * llama.cpp loads the GGUF seqsch writes and continues greedily exactly as we do: tiny-v3 → F32 GGUF (our writer) →
 * llama.cpp through node-llama-cpp (bench/peer/llamacpp/run.ts, token ids in, greedy ids out) against our generate()
 * on the same checkpoint. Runs only where node-llama-cpp is installed (`npm run bench:peer:install`); otherwise the
 * test is skipped and the reason printed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/core/backend.js';
import { loadLlama } from '../../src/model/checkpoint.js';
import { writeLlamaGguf } from '../../src/model/gguf/export.js';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';
import { generate } from '../../src/generation/generate.js';
import { LLAMACPP_DIR, llamacppInstalled } from '../../bench/peer/engines.js';
import { REPO_ROOT, repoPath } from '../helpers/paths.js';

const installed = llamacppInstalled(REPO_ROOT);
if (!installed)
  console.log(
    `gguf-llamacpp.test.ts: skipped — node-llama-cpp is not installed in ${LLAMACPP_DIR} (npm run bench:peer:install)`,
  );

(installed ? test : test.skip)(
  'a tiny-v3 F32 GGUF written by seqsch gives identical greedy tokens in llama.cpp',
  async () => {
    await initBackend('wasm');
    const tmp = mkdtempSync(join(tmpdir(), 'seqsch-llamacpp-'));
    try {
      const dir = repoPath('ckpts/tiny-v3');
      const model = loadLlama(dir);
      const file = join(tmp, 'tiny-v3.f32.gguf');
      writeLlamaGguf(model, await loadTokenizer(dir), file, 'f32');
      const tok = await loadTokenizer(dir);
      const prompts = [
        tok.encode('USER: Count from 3 to 9.\nASSISTANT:'),
        tok.encode('USER: Write a short story about a cat.\nASSISTANT:'),
        [1, 100, 200, 300, 400, 5, 6, 7],
      ];
      const maxNew = 32;
      const ours = await generate(model, prompts, {
        maxNewTokens: maxNew,
        temperature: 0,
        stopAtEos: false,
        eosTokenId: null,
        sharePrefix: false,
      });
      model.dispose();
      const spec = join(tmp, 'spec.json');
      writeFileSync(spec, JSON.stringify({ prompts, maxNew }));
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(REPO_ROOT, LLAMACPP_DIR, 'run.ts'), 'check', '--model', file, '--spec', spec],
        { encoding: 'utf8', cwd: REPO_ROOT },
      );
      if (r.status !== 0) throw new Error(`llama.cpp runner failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
      const theirs = JSON.parse(r.stdout.trim().split('\n').pop()!) as { tokens: number[][] };
      expect(theirs.tokens).toEqual(ours.items.map((it) => it.outputIds));
      expect(theirs.tokens[0].length).toBe(maxNew);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
  120_000,
);
