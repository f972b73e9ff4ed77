/**
 * `seqsch logits` end to end on the HF fixture: the written logits (adapter on) and greedy ids match
 * the HF references (same tolerance as hf-fixture.test.ts), run as a user would, through bin/seqsch.js.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../../src/model/safetensors.js';
import { fixtureLogitsArgs } from '../helpers/cli.js';
import { HF_FIXTURE, REPO_ROOT } from '../helpers/paths.js';
import { relError } from './helpers.js';

describe('seqsch logits on the HF fixture', () => {
  test('writes lora_logits-equal logits (B,T,V) and the 16 greedy ids of the base model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqsch-logits-'));
    try {
      const run = (extra: string[], out: string) => {
        const stdout = execFileSync(
          process.execPath,
          [join(REPO_ROOT, 'bin/seqsch.js'), ...fixtureLogitsArgs(out), '--json', ...extra],
          { encoding: 'utf8' },
        );
        return JSON.parse(stdout.trim().split('\n').pop()!);
      };
      const ex = readSafetensors(join(HF_FIXTURE, 'expected.safetensors'));
      const mask = ex.get('attention_mask')!.data;
      const withLora = join(dir, 'lora.safetensors');
      expect(run(['--lora', join(HF_FIXTURE, 'lora')], withLora)).toMatchObject({
        batch: 3,
        length: 12,
        vocab: 512,
        backend: 'wasm',
      });
      const a = readSafetensors(withLora).get('logits')!;
      expect(a.shape).toEqual([3, 12, 512]);
      expect(relError(a.data, ex.get('lora_logits')!.data, 512, mask)).toBeLessThan(1e-4);
      const base = join(dir, 'base.safetensors');
      run(['--greedy', '16'], base);
      const b = readSafetensors(base);
      expect(relError(b.get('logits')!.data, ex.get('logits')!.data, 512, mask)).toBeLessThan(1e-4);
      expect(b.get('greedy_ids')!.shape).toEqual([3, 16]);
      expect(Array.from(b.get('greedy_ids')!.data)).toEqual(Array.from(ex.get('greedy_ids')!.data));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
