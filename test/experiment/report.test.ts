/**
 * report.html: a run of the runner writes it beside table.md, with the results table as HTML (the same
 * figures as results.csv), the paper's rows beside ours, and the plots as inline SVG (vega-lite rendered in
 * Node). With benchmark-like details (predicted and real lengths, a batch trace) all four plots appear, and
 * the acceptance ratios are computed from the rows' throughputs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExperiment } from '../../src/experiment/runner.js';
import type { PointResult } from '../../src/experiment/registry.js';
import { markdownToHtml, reportHtml } from '../../src/experiment/report-html.js';
import { renderSvg, lengthScatterSpec } from '../../src/experiment/plots.js';
import type { Experiment } from '../../src/experiment/config.js';
import { experimentFile, writeTinyTrace } from '../helpers/experiments.js';

const dir = mkdtempSync(join(tmpdir(), 'seqsch-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a simulate run writes report.html with the results table, the paper rows and SVG plots', async () => {
  const real = [12, 3, 40, 7, 25, 9, 60, 4];
  const { data, lengths } = writeTinyTrace(dir, real);
  const yaml = experimentFile(
    dir,
    'report-test',
    `  - stage: simulate
    data: ${data}
    lengths: ${lengths}
    batch_size: 4
    group_size: 8
    max_length: 64
    rows:
      - { label: vanilla, strategy: vanilla }
      - { label: gt + VBS + FCR, strategy: gt, vbs: true, fcr: true }
`,
  );
  const { dir: out, results } = await runExperiment(yaml, { resultsRoot: join(dir, 'results') });
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  // the results table: one row per point, with the throughput results.csv holds (2 decimals, as table.md)
  expect(html).toContain('<table>');
  for (const r of results) {
    expect(html).toMatch(
      new RegExp(
        `<td>${r.label.replace(/\+/g, '\\+')}</td>(<td class="num">[^<]*</td>)*?<td class="num">${Number(r.record.throughput).toFixed(2)}</td>`,
      ),
    );
  }
  // the paper's figures beside ours (vanilla 1.39 / 370.84 / 33.91 %; gt+VBS+FCR 2.69 / 196.34 / 61.57 %)
  expect(html).toContain('Ours beside the paper');
  for (const x of ['1.39', '370.84', '33.91', '2.69', '196.34', '61.57'])
    expect(html).toContain(`<td class="num">${x}</td>`);
  // plots: throughput/ETR and the batch timeline (simulate points carry a trace but no L_max)
  const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
  expect(svgs.length).toBe(2);
  expect(html).toContain('Batch timeline');
});

test('benchmark-like points give all four plots and the acceptance ratios', async () => {
  const trace = (steps: number[]) =>
    steps.map((s, b) => ({
      group: 0,
      batch: b,
      phase: 'schedule' as const,
      size: 4,
      limit: 64,
      promptTokens: 30,
      decodeSteps: s,
      seconds: s / 100,
    }));
  const items = [10, 40, 80, 20].map((real, i) => ({
    id: String(i),
    index: i,
    predicted: real + (i % 2 ? 30 : -20),
    real,
    length: 81,
    numOutputTokens: real,
    isFinished: true,
    recomputed: false,
  }));
  const point = (label: string, strategy: string, vbs: boolean, fcr: boolean, throughput: number): PointResult => ({
    stage: 'benchmark',
    stageIndex: 0,
    label,
    swept: {},
    config: {},
    record: {
      strategy,
      vbs,
      fcr,
      throughput,
      effective_token_ratio: 0.5,
      average_length: 50,
      failure_ratio: 0,
      seconds: 4 / throughput,
    },
    detail: { items, trace: trace([80, 40]) },
  });
  const results = [
    point('vanilla', 'vanilla', false, false, 1.0),
    point('seqsch + VBS + FCR', 'seqsch', true, true, 1.9),
    point('gt + VBS + FCR', 'gt', true, true, 2.0),
  ];
  const exp = { file: 'x.yaml', name: 'fake', points: [], raw: {} } as Experiment;
  const html = await reportHtml(exp, results, '# fake\n\n| a | b |\n| --- | ---: |\n| x | 1.00 |\n');
  expect(html.match(/<svg/g)?.length).toBe(4);
  for (const t of [
    'Speedup over vanilla and effective token ratio per row',
    'Predicted vs real length',
    'Predictor error',
    'Batch timeline',
  ])
    expect(html).toContain(t);
  // the speedup bars: ours 1.9 / 1.0 and 2.0 / 1.0 beside the paper's 2.30 / 1.39 and 2.69 / 1.39, on one axis
  const bars = [
    ...html.matchAll(/aria-label="Throughput ÷ vanilla's \(×\): ([\d.]+); label: ([^;]+); source: (\w+)"/g),
  ].map((m) => [m[2], m[3], Number(m[1])] as const);
  const expected = [
    ['vanilla', 'ours', 1],
    ['vanilla', 'paper', 1],
    ['seqsch + VBS + FCR', 'ours', 1.9],
    ['seqsch + VBS + FCR', 'paper', 2.3 / 1.39],
    ['gt + VBS + FCR', 'ours', 2],
    ['gt + VBS + FCR', 'paper', 2.69 / 1.39],
  ] as const;
  expect(bars.length).toBe(expected.length);
  for (const [label, src, x] of expected)
    expect(bars.find((b) => b[0] === label && b[1] === src)?.[2]).toBeCloseTo(x, 6);
  // 1.9 / 1.0 = 1.90; (1.9 − 1) / (2 − 1) = 90 %
  expect(html).toContain('vanilla throughput: <b>1.90</b>');
  expect(html).toContain('gain over vanilla: <b>90 %</b>');
  expect(html).toContain('<td>x</td><td class="num">1.00</td>');
});

test('markdown tables become HTML tables; right-aligned columns get class num', () => {
  const h = markdownToHtml('## T\n\n| a | b |\n| --- | ---: |\n| x & y | 2 |\n');
  expect(h).toBe(
    '<h3>T</h3>\n<table><thead><tr><th>a</th><th class="num">b</th></tr></thead><tbody><tr><td>x &amp; y</td><td class="num">2</td></tr></tbody></table>',
  );
});

test('the Acc-50 band is drawn: the scatter SVG holds an area path and one point per query', async () => {
  const svg = await renderSvg(
    lengthScatterSpec([
      { label: 'seqsch', predicted: 10, real: 20 },
      { label: 'seqsch', predicted: 100, real: 30 },
    ]),
  );
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toContain('class="mark-area role-mark layer_0_marks"'); // the band
  const points = svg.match(/aria-roledescription="point"[^>]*/g) ?? [];
  expect(points.length).toBe(2);
  expect(svg).toContain('aria-label="real: 20; Predicted length (tokens): 10; Predictor: seqsch"');
});
