/**
 * check-perception as a job (an experiment stage, no command): fails the run (with the file and the reason) unless
 * the pipeline's files have the upstream formats and LoRA training lowered the loss — what CI's smoke run of the
 * perception pipeline asserts. It reads files only: length records, constructed instruction data (query prompt at
 * the end of each instruction, a bucketed length as the answer), eval predictions, and a training run's log.csv.
 * The record: ok, and per file its count of records / examples / predictions or its first and last mean loss.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineJob } from '../core/job.js';
import { defineOptions, type StageConfigOf } from '../core/options/spec.js';
import { loadConversations, loadLengths } from '../data/conversation.js';
import { QUERY_PROMPT } from '../data/prompts.js';
import { readJson } from '../util/fs.js';

export const checkPerceptionOptions = defineOptions({
  lengths: { type: 'list', of: 'string', default: [], cli: false, describe: '`*-length.json` files (lenpred)' },
  instruct: { type: 'list', of: 'string', default: [], cli: false, describe: 'construct outputs' },
  cell: {
    type: 'number',
    int: true,
    min: 1,
    default: 50,
    cli: false,
    describe: 'bucket cell the instruct answers must be multiples of',
  },
  predictions: {
    type: 'list',
    of: 'string',
    default: [],
    cli: false,
    describe: 'eval predictions files ([{id, predicted, L_max}])',
  },
  'train-logs': {
    type: 'list',
    of: 'string',
    default: [],
    cli: false,
    describe: 'training output folders (or log.csv files) whose loss must fall',
  },
  'min-loss-drop': {
    type: 'number',
    min: 0,
    max: 1,
    default: 0.1,
    cli: false,
    describe:
      'required relative drop from the mean of the first `loss_window` logged losses to the mean of the last ones',
  },
  'loss-window': { type: 'number', int: true, min: 1, default: 2, cli: false },
});
type CheckConfig = StageConfigOf<typeof checkPerceptionOptions>;

function lossCurve(path: string): number[] {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'log.csv') : path;
  if (!existsSync(file)) throw new Error(`${file}: training log not found`);
  const [head, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const col = head.split(',').indexOf('loss');
  if (col < 0) throw new Error(`${file}: no "loss" column in the header ${JSON.stringify(head)}`);
  const losses = rows.map((r, i) => {
    const v = Number(r.split(',')[col]);
    if (!Number.isFinite(v)) throw new Error(`${file}: row ${i + 2} has loss ${JSON.stringify(r.split(',')[col])}`);
    return v;
  });
  return losses;
}

export function checkPerception(c: CheckConfig): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of c.lengths) out[`records:${p}`] = loadLengths(p).length; // validates every key and count
  for (const p of c.instruct) {
    const convs = loadConversations(p);
    convs.forEach((conv, i) => {
      const [h, g] = conv.conversations;
      if (conv.conversations.length !== 2 || h.from !== 'human' || g.from !== 'gpt')
        throw new Error(`${p}: item ${i} (id ${conv.id}) is not one human and one gpt turn`);
      if (!h.value.endsWith(QUERY_PROMPT))
        throw new Error(`${p}: item ${i} (id ${conv.id}): the instruction does not end with the query prompt`);
      if (!/^[0-9]+$/.test(g.value) || Number(g.value) % c.cell !== 0)
        throw new Error(
          `${p}: item ${i} (id ${conv.id}): answer ${JSON.stringify(g.value)} is not a multiple of ${c.cell}`,
        );
    });
    out[`examples:${p}`] = convs.length;
  }
  for (const p of c.predictions) {
    const list = readJson<unknown>(p);
    if (!Array.isArray(list) || list.length === 0)
      throw new Error(`${p}: expected a non-empty array [{id, predicted, L_max}]`);
    list.forEach((e: { id?: unknown; predicted?: unknown; L_max?: unknown }, i) => {
      if (
        typeof e.id !== 'string' ||
        typeof e.predicted !== 'number' ||
        !Number.isFinite(e.predicted) ||
        !Number.isInteger(e.L_max)
      ) {
        throw new Error(
          `${p}: entry ${i} needs a string id, a numeric predicted and an integer L_max (got ${JSON.stringify(e).slice(0, 120)})`,
        );
      }
    });
    out[`predictions:${p}`] = list.length;
  }
  for (const p of c.train_logs) {
    const losses = lossCurve(p);
    const k = c.loss_window;
    if (losses.length < 2 * k)
      throw new Error(`${p}: ${losses.length} logged steps; the loss check needs at least ${2 * k}`);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const first = mean(losses.slice(0, k));
    const last = mean(losses.slice(-k));
    if (!(last <= first * (1 - c.min_loss_drop))) {
      throw new Error(
        `${p}: training did not lower the loss enough: mean of the first ${k} steps ${first.toFixed(4)}, of the last ${k} ${last.toFixed(4)} (required drop ${(100 * c.min_loss_drop).toFixed(0)}%)`,
      );
    }
    out[`first_loss:${p}`] = first;
    out[`last_loss:${p}`] = last;
  }
  return out;
}

export const checkPerceptionJob = defineJob({
  name: 'check-perception',
  describe: "check the perception pipeline's files (upstream formats) and that LoRA training lowered the loss",
  options: checkPerceptionOptions,
  cli: false,
  files: (c) => [
    ...c.lengths.map((path) => ({ key: 'lengths', path })),
    ...c.instruct.map((path) => ({ key: 'instruct', path })),
    ...c.predictions.map((path) => ({ key: 'predictions', path })),
  ],
  run: async (c) => ({ record: { ok: true, ...checkPerception(c) } }),
});
