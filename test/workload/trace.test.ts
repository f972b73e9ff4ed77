/**
 * The trace loader on every layout (Azure, BurstGPT in its 6- and 8-column forms, plain, Mooncake JSONL): fixtures
 * built from rows the publishers document, the shipped real samples checked against their sources' first rows and
 * counts, Mooncake hash_ids carried into the requests, rate scaling and trace-requests for each layout, bad rows
 * refused naming file:line, .gz read transparently, and the chunked line reader across chunk boundaries.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { arrivalTimes, traceItems } from '../../src/workload/arrivals.js';
import { forEachLine } from '../../src/workload/lines.js';
import { loadTrace, MOONCAKE_BLOCK_TOKENS, type TraceRow } from '../../src/workload/trace.js';
import { workloadItems } from '../../src/serving/make-workload.js';
import type { ServeConfig } from '../../src/serving/config.js';
import { repoPath } from '../helpers/paths.js';
import { tmpDirs } from '../helpers/tmp.js';

const tmp = tmpDirs('seqsch-trace-');
const write = (name: string, text: string | Buffer): string => {
  const p = join(tmp(), name);
  writeFileSync(p, text);
  return p;
};
const counts = (rows: TraceRow[]) => rows.map((r) => [r.promptTokens, r.responseTokens]);

// the first rows of AzureLLMInferenceTrace_conv.csv (Azure/AzurePublicDataset)
const AZURE =
  'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n';
// BurstGPT's documented example rows (HPMLL/BurstGPT README, schema) plus a failed request (0 response tokens)
const BURST =
  'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n' +
  '5,ChatGPT,472,18,490,Conversation log\n45,ChatGPT,1087,230,1317,Conversation log\n' +
  '60,GPT-4,300,0,300,API log\n118,GPT-4,417,276,693,Conversation log\n';
// the two example rows of Mooncake's FAST25-release/README.md
const MOONCAKE =
  '{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 2353, 2354]}\n' +
  '{"timestamp": 30535, "input_length": 6472, "output_length": 26, "hash_ids": [46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 2366]}\n';

test('each layout read from a small fixture: times in seconds from the first row, token counts as given', () => {
  const az = loadTrace(write('az.csv', AZURE));
  expect(az.format).toBe('azure');
  expect(az.rows[1].t).toBeCloseTo(50.995169 - 46.68059, 9);
  expect(counts(az.rows)).toEqual([
    [374, 44],
    [396, 109],
  ]);
  expect(az.hashBlockTokens).toBeUndefined();

  const bg = loadTrace(write('bg.csv', BURST));
  expect(bg.format).toBe('burstgpt');
  expect(bg.rows.map((r) => r.t)).toEqual([0, 40, 113]); // the failed row at 60 s is dropped
  expect(counts(bg.rows)).toEqual([
    [472, 18],
    [1087, 230],
    [417, 276],
  ]);
  // BurstGPT_3's layout: two more columns before Model
  const bg3 = loadTrace(
    write(
      'bg3.csv',
      'Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n' +
        '10.5,"s-1",3.2,ChatGPT,100,20,120,Conversation log\n12,"s-1",1.0,ChatGPT,150,30,180,Conversation log\n',
    ),
  );
  expect(bg3.rows).toEqual([
    { t: 0, promptTokens: 100, responseTokens: 20 },
    { t: 1.5, promptTokens: 150, responseTokens: 30 },
  ]);

  const plain = loadTrace(write('p.csv', 'timestamp,prompt_tokens,response_tokens\n2.5,10,3\n0.5,7,1\n'));
  expect(plain.format).toBe('plain');
  expect(plain.rows).toEqual([
    { t: 0, promptTokens: 7, responseTokens: 1 },
    { t: 2, promptTokens: 10, responseTokens: 3 },
  ]); // sorted by time
  const ties = loadTrace(write('ties.csv', 'timestamp,prompt_tokens,response_tokens\n1,1,1\n0,2,2\n1,3,3\n0,4,4\n'));
  expect(ties.rows.map((r) => [r.t, r.promptTokens])).toEqual([
    [0, 2],
    [0, 4],
    [1, 1],
    [1, 3],
  ]); // ties keep file order

  const mc = loadTrace(write('mc.jsonl', MOONCAKE));
  expect(mc.format).toBe('mooncake');
  expect(mc.hashBlockTokens).toBe(512);
  expect(mc.rows[0]).toEqual({
    t: 0,
    promptTokens: 6955,
    responseTokens: 52,
    hashIds: [46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 2353, 2354],
  });
  expect(mc.rows[1].t).toBeCloseTo(3.053, 12); // milliseconds → seconds
  expect(mc.rows[1].hashIds!.slice(0, 12)).toEqual(mc.rows[0].hashIds!.slice(0, 12)); // a shared 12 × 512 prefix
});

test('the shipped real samples: counts and first rows as in their sources', () => {
  const conv = loadTrace(repoPath('data/traces/azure-conv-2023.csv.gz'));
  expect([conv.format, conv.rows.length]).toEqual(['azure', 19366]);
  expect(counts(conv.rows.slice(0, 2))).toEqual([
    [374, 44],
    [396, 109],
  ]);
  expect(conv.rows[1].t).toBeCloseTo(4.314579, 9);
  expect(conv.rows[conv.rows.length - 1].t).toBeCloseTo(3501.721937, 6); // 19:14:08.4025270 − 18:15:46.6805900
  const code = loadTrace(repoPath('data/traces/azure-code-2023.csv.gz'));
  expect([code.format, code.rows.length]).toEqual(['azure', 8819]);
  expect(counts(code.rows.slice(0, 2))).toEqual([
    [4808, 10],
    [3180, 8],
  ]);
  const mconv = loadTrace(repoPath('data/traces/mooncake-conversation.jsonl.gz'));
  expect([mconv.format, mconv.rows.length, mconv.hashBlockTokens]).toEqual(['mooncake', 4000, MOONCAKE_BLOCK_TOKENS]);
  expect(mconv.rows[0]).toEqual({
    t: 0,
    promptTokens: 6758,
    responseTokens: 500,
    hashIds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  });
  // in the real traces every request has one id per started 512-token block
  expect(mconv.rows.every((r) => r.hashIds!.length === Math.ceil(r.promptTokens / 512))).toBe(true);
  const msyn = loadTrace(repoPath('data/traces/mooncake-synthetic.jsonl.gz'));
  expect([msyn.format, msyn.rows.length]).toEqual(['mooncake', 1000]);
  expect(msyn.rows[0]).toMatchObject({ t: 0, promptTokens: 40160, responseTokens: 6 });
  expect(msyn.rows[999].t).toBeCloseTo(272.653, 9);
});

test('rate scaling and trace requests for every layout (Mooncake hash_ids carried into the items)', () => {
  const files = [
    repoPath('data/traces/azure-conv-2023.csv.gz'),
    repoPath('data/traces/azure-code-2023.csv.gz'),
    repoPath('data/traces/mooncake-conversation.jsonl.gz'),
    repoPath('data/traces/burstgpt-sample.csv'),
    write('p.csv', 'timestamp,prompt_tokens,response_tokens\n0,10,3\n0.25,7,1\n1,5,2\n'),
  ];
  for (const file of files) {
    const { rows, hashBlockTokens } = loadTrace(file);
    const n = Math.min(rows.length, 3000);
    const t = arrivalTimes(n, { kind: 'trace', rows, rate: 4 });
    expect(t[0]).toBe(0);
    expect((n - 1) / t[n - 1]).toBeCloseTo(4, 9); // mean rate over the used requests is the target
    // the scaled gaps keep the trace's shape: ratios of gaps unchanged
    const g = (k: number) => rows[k].t - rows[0].t;
    expect(t[1] / t[n - 1]).toBeCloseTo(g(1) / g(n - 1), 9);

    const items = workloadItems({ trace_requests: true, trace: file, num_data: n } as ServeConfig, {});
    expect(items.length).toBe(n);
    expect(new Set(items.map((i) => i.id)).size).toBe(n); // ids unique
    expect(items[1]).toMatchObject({ promptTokens: rows[1].promptTokens });
    expect(items[1].realLengths!['L_t0.0']).toBe(rows[1].responseTokens + 1); // G generated tokens → G + 1 (EOS)
    if (hashBlockTokens) {
      expect(items[1].hashIds).toEqual(rows[1].hashIds);
      expect(items[1].hashBlockTokens).toBe(512);
    } else expect(items[1].hashIds).toBeUndefined();
  }
  const mc = loadTrace(write('mc.jsonl', MOONCAKE));
  expect(() => traceItems(mc.rows, 2)).toThrow("the trace's rows carry hash_ids but no block size was given");
});

test('bad rows are refused naming the file and line', () => {
  const azure = (row: string) =>
    write('az.csv', `TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,1,2\n${row}\n`);
  const cases: [string, string][] = [
    ['2023-02-30 10:00:00.5,1,2', 'column TIMESTAMP holds "2023-02-30 10:00:00.5", not a date'],
    ['2023-11-16 25:00:00,1,2', 'column TIMESTAMP holds "2023-11-16 25:00:00", not a date'],
    ['16/11/2023 18:15:47,1,2', 'column TIMESTAMP holds "16/11/2023 18:15:47", not a date YYYY-MM-DD'],
    ['2023-11-16 18:15:47,,2', 'column ContextTokens holds "", not a token count ≥ 0'],
    ['2023-11-16 18:15:47,-3,2', 'column ContextTokens holds "-3", not a token count ≥ 0'],
    ['2023-11-16 18:15:47,3,2.5', 'column GeneratedTokens holds "2.5", not a token count ≥ 0'],
    ['2023-11-16 18:15:47,3', 'column GeneratedTokens holds "", not a token count ≥ 0'],
  ];
  for (const [row, msg] of cases) {
    const p = azure(row);
    expect(() => loadTrace(p)).toThrow(`${p}:3: ${msg}`);
  }
  const plain = write('p.csv', 'timestamp,prompt_tokens,response_tokens\n0,1,1\n\n-1,1,1\n');
  expect(() => loadTrace(plain)).toThrow(`${plain}:4: column timestamp holds "-1", not a time in seconds ≥ 0`);
  const nan = write('b.csv', 'Timestamp,Model,Request tokens,Response tokens\nsoon,x,1,1\n');
  expect(() => loadTrace(nan)).toThrow(`${nan}:2: column Timestamp holds "soon", not a time in seconds ≥ 0`);

  const mooncake = (row: string) =>
    write('m.jsonl', `{"timestamp": 0, "input_length": 3, "output_length": 2}\n${row}\n`);
  const bad: [string, string][] = [
    ['{"timestamp": 5, "input_length": 3', 'not a JSON object'],
    ['[1, 2]', 'not a JSON object'],
    ['{"timestamp": -5, "input_length": 3, "output_length": 2}', 'timestamp is -5, not a time in milliseconds ≥ 0'],
    ['{"timestamp": "5", "input_length": 3, "output_length": 2}', 'timestamp is "5", not a time in milliseconds'],
    ['{"timestamp": 5, "output_length": 2}', 'input_length is undefined, not a token count ≥ 0'],
    ['{"timestamp": 5, "input_length": 3.5, "output_length": 2}', 'input_length is 3.5, not a token count ≥ 0'],
    ['{"timestamp": 5, "input_length": 3, "output_length": -2}', 'output_length is -2, not a token count ≥ 0'],
  ];
  for (const [row, msg] of bad) {
    const p = mooncake(row);
    expect(() => loadTrace(p)).toThrow(`${p}:2: ${msg}`);
  }
  const ids = (row: string) => write('h.jsonl', `${row}\n`);
  let p = ids('{"timestamp": 0, "input_length": 513, "output_length": 1, "hash_ids": [1, 2, 3]}');
  expect(() => loadTrace(p)).toThrow(`${p}:1: 3 hash_ids for 513 input tokens; blocks of 512 tokens allow at most 2`);
  p = ids('{"timestamp": 0, "input_length": 513, "output_length": 1, "hash_ids": [1, "a"]}');
  expect(() => loadTrace(p)).toThrow(`${p}:1: hash_ids must be a list of integer block ids ≥ 0`);
  p = write(
    'mix.jsonl',
    '{"timestamp": 0, "input_length": 5, "output_length": 1, "hash_ids": [1]}\n' +
      MOONCAKE.replace(/, "hash_ids": \[[^\]]*\]/g, ''),
  );
  expect(() => loadTrace(p)).toThrow(`${p}: 1 of 3 rows carry hash_ids; all or none must`);

  expect(() => loadTrace(write('e.csv', '\n\n'))).toThrow('empty; a trace needs a header line');
  expect(() => loadTrace(write('h.csv', 'timestamp,prompt_tokens,response_tokens\n'))).toThrow('no request rows');
  const other = write('o.csv', 'time,in,out\n1,2,3\n');
  expect(() => loadTrace(other)).toThrow(`${other}: unknown trace layout (header: time,in,out)`);
  expect(() => loadTrace(tmp())).toThrow('is a folder, not a trace file');
  const gz = write('broken.csv.gz', 'not gzip');
  expect(() => loadTrace(gz)).toThrow(`${gz}: cannot gunzip`);
});

test('a .gz trace reads as its plain text does; line numbers in errors count the unpacked lines', () => {
  const text = BURST + MOONCAKE.slice(0, 0);
  const a = loadTrace(write('t.csv', text));
  const b = loadTrace(write('t.csv.gz', gzipSync(text)));
  expect(b).toEqual(a);
  const bad = write('bad.jsonl.gz', gzipSync(MOONCAKE + '{"timestamp": 1}\n'));
  expect(() => loadTrace(bad)).toThrow(`${bad}:3: input_length is undefined`);
});

test('the chunked line reader: same lines at every chunk size (CRLF, multi-byte characters, BOM, no final newline)', () => {
  const text = '\ufeffheader,é\r\nα,中文,😀\n\n' + 'x'.repeat(37) + '\r\nlast-ü';
  const want = ['header,é', 'α,中文,😀', '', 'x'.repeat(37), 'last-ü'];
  for (const file of [write('l.txt', text), write('l.txt.gz', gzipSync(text))]) {
    for (const chunk of [1, 2, 3, 5, 7, 16, 64, 1 << 20]) {
      const got: [string, number][] = [];
      forEachLine(file, (line, n) => got.push([line, n]), chunk);
      expect(got).toEqual(want.map((l, i) => [l, i + 1]));
    }
  }
});

test('a generated trace of 20,000 rows read in 4 KiB chunks equals the one-chunk read; a bad row deep in it is found', () => {
  const lines = ['timestamp,prompt_tokens,response_tokens'];
  for (let k = 0; k < 20000; k++) lines.push(`${(k * 0.013).toFixed(3)},${(k * 7919) % 4000},${(k * 104729) % 900}`);
  const file = write('big.csv', lines.join('\n') + '\n');
  const small = loadTrace(file, { chunkBytes: 4096 });
  const whole = loadTrace(file, { chunkBytes: 64 << 20 });
  expect(small.rows.length).toBe(20000);
  expect(small).toEqual(whole);
  expect(small.rows[19999]).toEqual({
    t: expect.closeTo(19999 * 0.013, 6),
    promptTokens: (19999 * 7919) % 4000,
    responseTokens: (19999 * 104729) % 900,
  });
  lines[15678] = '203.801,12,x';
  const bad = write('big-bad.csv', lines.join('\n'));
  expect(() => loadTrace(bad, { chunkBytes: 4096 })).toThrow(`${bad}:15679: column response_tokens holds "x"`);
});
