/**
 * The public library API (src/index.ts): every runtime export is defined and is the very object its module
 * exports (a re-export of a renamed or removed symbol would otherwise arrive as undefined: jest does not type
 * check), and a few calls work through it with upstream's numbers. The notebooks use this surface
 * (scripts/notebooks.sh executes them).
 */
import * as seqsch from '../src/index.js';
import * as buckets from '../src/scheduling/buckets.js';
import * as scheduling from '../src/scheduling/schedule.js';
import * as plots from '../src/experiment/plots.js';
import * as load from '../src/engines/load.js';
import * as conversation from '../src/data/conversation.js';
import { Llama } from '../src/model/llama.js';

describe('src/index.ts', () => {
  test('every runtime export is defined', () => {
    const missing = Object.entries(seqsch)
      .filter(([, v]) => v === undefined)
      .map(([k]) => k);
    expect(missing).toEqual([]);
    expect(Object.keys(seqsch).length).toBeGreaterThan(90);
  });

  test('re-exports are the modules’ own objects', () => {
    expect(seqsch.buckit).toBe(buckets.buckit);
    expect(seqsch.schedule).toBe(scheduling.schedule);
    expect(seqsch.DEFAULT_SCHEDULE).toBe(scheduling.DEFAULT_SCHEDULE);
    expect(seqsch.renderSvg).toBe(plots.renderSvg);
    expect(seqsch.loadModel).toBe(load.loadModel);
    expect(seqsch.vicunaPrompt).toBe(conversation.vicunaPrompt);
    expect(seqsch.Llama).toBe(Llama);
  });

  test('bucketing and the VBS table through the API (upstream buckit, len_bs_dict)', () => {
    expect(seqsch.buckit(120)).toBe(150);
    expect(seqsch.buckit(50)).toBe(50);
    expect(seqsch.vbsBatchSize(seqsch.buckit(60), seqsch.PAPER_VBS_TABLE, seqsch.PAPER_VBS_FALLBACK)).toBe(128);
  });

  test('a schedule through the API: sorted by predicted length, FCR limit = the bucket', () => {
    const cfg = { ...seqsch.DEFAULT_SCHEDULE, batchSize: 2, fcr: true };
    const plan = seqsch.schedule([120, 10, 40, 300], cfg);
    expect(plan.map((b) => b.ids)).toEqual([
      [1, 2],
      [0, 3],
    ]);
    expect(plan.map((b) => seqsch.generationLimit(b, cfg, 512))).toEqual([40, 300]);
  });

  test('the paper’s token count and prompt through the API', () => {
    expect(seqsch.vicunaPrompt('Hi')).toBe(`${conversation.VICUNA_SYSTEM} USER: Hi ASSISTANT:`);
    expect(seqsch.countTokens('Hello world')).toBe(3); // LLaMA-1: <s> ▁Hello ▁world
  });
});
