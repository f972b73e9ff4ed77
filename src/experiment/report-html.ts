/**
 * report.html of an experiment run: one self-contained page with the run's tables (table.md as HTML), the
 * paper's benchmark rows beside ours, and SVG plots (plots.ts) of the benchmark/simulate points — speedup
 * over vanilla and ETR, predicted vs real length with the Acc-50 band, the batch timeline, the predictor error histogram.
 * It reads the in-memory results of the runner (details included); it runs nothing and writes nothing.
 */
import type { Experiment } from './config.js';
import type { PointResult, Scalar } from './registry.js';
import type { BatchTrace } from '../benchmark/driver.js';
import {
  errorHistogramSpec,
  latencyCdfSpec,
  latencyLoadSpec,
  lengthScatterSpec,
  metricsSpec,
  renderSvg,
  timelineSpec,
  type LatencySample,
  type LengthPoint,
  type LoadPoint,
  type MetricRow,
  type TimelineBatch,
} from './plots.js';

/** The upstream README's benchmark figures (Vicuna-7B, A100, 1024 Alpaca val queries, max 512 new tokens). */
export const PAPER_BENCHMARK: {
  key: string;
  label: string;
  throughput: number;
  average_length: number;
  effective_token_ratio: number;
  failure_ratio: number | null;
}[] = [
  {
    key: 'vanilla|false|false',
    label: 'vanilla',
    throughput: 1.39,
    average_length: 370.84,
    effective_token_ratio: 0.3391,
    failure_ratio: null,
  },
  {
    key: 'seqsch|true|true',
    label: 'seqsch + VBS + FCR',
    throughput: 2.3,
    average_length: 215.06,
    effective_token_ratio: 0.4722,
    failure_ratio: 0.165,
  },
  {
    key: 'seqsch|false|false',
    label: 'seqsch',
    throughput: 1.64,
    average_length: 297.48,
    effective_token_ratio: 0.4217,
    failure_ratio: null,
  },
  {
    key: 'po|false|false',
    label: 'po',
    throughput: 1.32,
    average_length: 374.83,
    effective_token_ratio: 0.3353,
    failure_ratio: null,
  },
  {
    key: 'gt|true|true',
    label: 'gt + VBS + FCR',
    throughput: 2.69,
    average_length: 196.34,
    effective_token_ratio: 0.6157,
    failure_ratio: null,
  },
];

const rowKey = (r: Record<string, Scalar>) => `${r.strategy}|${r.vbs}|${r.fcr}`;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The markdown runner.ts writes (headings, paragraphs, pipe tables) as HTML. */
export function markdownToHtml(md: string): string {
  const out: string[] = [];
  const lines = md.split('\n');
  const cells = (l: string) =>
    l
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => esc(c.trim()).replace(/`([^`]+)`/g, '<code>$1</code>'));
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const h = /^(#{1,4})\s+(.*)$/.exec(l);
    if (h) out.push(`<h${h[1].length + 1}>${esc(h[2])}</h${h[1].length + 1}>`);
    else if (
      l.trim().startsWith('|') &&
      lines[i + 1]?.trim().startsWith('|') &&
      /^\|[\s:|-]+\|$/.test(lines[i + 1].trim())
    ) {
      const head = cells(l);
      const right = cells(lines[i + 1]).map((c) => c.endsWith(':'));
      i += 2;
      const body: string[][] = [];
      while (i < lines.length && lines[i].trim().startsWith('|')) body.push(cells(lines[i++]));
      i--;
      const td = (c: string, k: number, tag: string) => `<${tag}${right[k] ? ' class="num"' : ''}>${c}</${tag}>`;
      out.push(
        `<table><thead><tr>${head.map((c, k) => td(c, k, 'th')).join('')}</tr></thead><tbody>${body.map((r) => `<tr>${r.map((c, k) => td(c, k, 'td')).join('')}</tr>`).join('')}</tbody></table>`,
      );
    } else if (l.trim()) out.push(`<p>${esc(l).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>`);
  }
  return out.join('\n');
}

/** A point's display label: the row label plus its sweep values. */
function pointLabel(r: PointResult): string {
  const s = Object.entries(r.swept);
  return s.length ? `${r.label} (${s.map(([k, v]) => `${k}=${v}`).join(', ')})` : r.label;
}

interface Detail {
  items?: { predicted: number; real?: number | null; numOutputTokens: number }[];
  trace?: BatchTrace[];
}

const f2 = (x: number | null | undefined, scale = 1) => (typeof x === 'number' ? (x * scale).toFixed(2) : '—');

/** Ours beside the paper, for the benchmark (or else simulate) points that match one of the paper's five rows. */
function paperTable(points: PointResult[]): string {
  const rows = points.filter((p) => PAPER_BENCHMARK.some((q) => q.key === rowKey(p.record)));
  if (!rows.length) return '';
  const head = [
    'Row',
    'Throughput',
    'Avg length',
    'ETR (%)',
    'Failure (%)',
    'Paper: throughput',
    'Paper: avg length',
    'Paper: ETR (%)',
    'Paper: failure (%)',
  ];
  const body = rows.map((p) => {
    const q = PAPER_BENCHMARK.find((x) => x.key === rowKey(p.record))!;
    const r = p.record as Record<string, number>;
    return [
      pointLabel(p),
      f2(r.throughput),
      f2(r.average_length),
      f2(r.effective_token_ratio, 100),
      f2(r.failure_ratio, 100),
      f2(q.throughput),
      f2(q.average_length),
      f2(q.effective_token_ratio, 100),
      f2(q.failure_ratio, 100),
    ];
  });
  // the acceptance figures: seqsch+VBS+FCR / vanilla and the share of the oracle's gain it reaches
  const find = (k: string) => rows.find((p) => rowKey(p.record) === k)?.record.throughput as number | undefined;
  const [v, s, g] = [find('vanilla|false|false'), find('seqsch|true|true'), find('gt|true|true')];
  const notes: string[] = [];
  if (v && s)
    notes.push(
      `seqsch + VBS + FCR / vanilla throughput: <b>${(s / v).toFixed(2)}</b> (paper ${(2.3 / 1.39).toFixed(2)})`,
    );
  if (v && s && g)
    notes.push(
      `share of the oracle's (gt + VBS + FCR) gain over vanilla: <b>${(((s - v) / (g - v)) * 100).toFixed(0)} %</b> (paper ${(((2.3 - 1.39) / (2.69 - 1.39)) * 100).toFixed(0)} %)`,
    );
  return `<h2>Ours beside the paper</h2>
<p>Paper: the upstream README (Vicuna-7B on an A100, 1024 Alpaca validation queries, max 512 new tokens). Ours: this run.</p>
<table><thead><tr>${head.map((h, i) => `<th${i ? ' class="num"' : ''}>${h}</th>`).join('')}</tr></thead><tbody>
${body.map((r) => `<tr>${r.map((c, i) => `<td${i ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>
${notes.map((n) => `<p>${n}</p>`).join('\n')}`;
}

/**
 * The speedup/ETR bars of benchmark or simulate points: each point's throughput ÷ the vanilla point's of the
 * same sweep values (the first vanilla point when none matches), and for the paper's rows the paper's figure
 * ÷ its vanilla 1.39 samples/s. Empty when the points hold no vanilla row. (The notebooks draw the same bars.)
 */
export function speedupRows(points: PointResult[]): MetricRow[] {
  const vanillas = points.filter((p) => rowKey(p.record) === PAPER_BENCHMARK[0].key);
  const sameSweep = (a: PointResult, b: PointResult) => JSON.stringify(a.swept) === JSON.stringify(b.swept);
  const paperVanilla = PAPER_BENCHMARK[0].throughput;
  const rows: MetricRow[] = [];
  for (const p of points) {
    const v = vanillas.find((x) => sameSweep(x, p)) ?? vanillas[0];
    if (!v) break;
    rows.push({
      label: pointLabel(p),
      source: 'ours',
      speedup: Number(p.record.throughput) / Number(v.record.throughput),
      etr: Number(p.record.effective_token_ratio),
    });
    const q = PAPER_BENCHMARK.find((x) => x.key === rowKey(p.record));
    if (q)
      rows.push({
        label: pointLabel(p),
        source: 'paper',
        speedup: q.throughput / paperVanilla,
        etr: q.effective_token_ratio,
      });
  }
  return rows;
}

/** Every plot the points support, as titled SVG blocks. */
async function plots(points: PointResult[]): Promise<string> {
  const out: string[] = [];
  const bench = points.some((p) => p.stage === 'benchmark')
    ? points.filter((p) => p.stage === 'benchmark')
    : points.filter((p) => p.stage === 'simulate');
  if (!bench.length) return '';
  const section = async (title: string, note: string, spec: Parameters<typeof renderSvg>[0]) =>
    out.push(
      `<h3>${esc(title)}</h3>\n<p class="note">${esc(note)}</p>\n<div class="plot">${await renderSvg(spec)}</div>`,
    );

  const metric = speedupRows(bench);
  if (metric.length) {
    await section(
      'Speedup over vanilla and effective token ratio per row',
      "Throughput ÷ vanilla's throughput of the same source (ours: this run's vanilla row; paper: 1.39 samples/s on an A100 with Vicuna-7B), so rows of a tiny CPU model and of the paper share one axis; the raw samples/s are in the tables above.",
      metricsSpec(metric),
    );
  }

  // one scatter series per predictor (rows sharing a strategy share its predictions; take the first)
  const seen = new Set<string>();
  const lengthPts: LengthPoint[] = [];
  for (const p of bench) {
    const s = String(p.record.strategy);
    const items = (p.detail as Detail | undefined)?.items;
    if (s === 'vanilla' || seen.has(s) || !items?.some((it) => typeof it.real === 'number')) continue;
    seen.add(s);
    for (const it of items)
      if (typeof it.real === 'number') lengthPts.push({ label: s, predicted: it.predicted, real: it.real });
  }
  if (lengthPts.length) {
    await section(
      'Predicted vs real length',
      'Real = L_max, the longest of the recorded answers at temperatures 0.0/0.3/0.5/0.7 (as eval scores it); green band: |predicted − real| ≤ 50 (Acc-50).',
      lengthScatterSpec(lengthPts),
    );
    await section('Predictor error', 'predicted − L_max per query, bins of 10 tokens.', errorHistogramSpec(lengthPts));
  }

  const timeline: TimelineBatch[] = [];
  for (const p of bench) {
    let t = 0;
    for (const b of (p.detail as Detail | undefined)?.trace ?? []) {
      timeline.push({
        label: pointLabel(p),
        start: t,
        end: t + b.seconds,
        size: b.size,
        decodeSteps: b.decodeSteps,
        phase: b.phase,
      });
      t += b.seconds;
    }
  }
  if (timeline.length)
    await section(
      'Batch timeline',
      'One bar per generated batch (FCR recomputations included): width = its time, height = its decode steps, colour = its batch size.',
      timelineSpec(timeline),
    );
  return `<h2>Plots</h2>\n${out.join('\n')}`;
}

/**
 * The serving plots of `serve` points: latency against load per policy/predictor (points with a `load`), and the
 * latency CDF of every point, one panel per workload (engine, max batch, arrival, load).
 */
async function servingPlots(results: PointResult[]): Promise<string> {
  const serve = results.filter((r) => r.stage === 'serve');
  if (!serve.length) return '';
  const rec = (p: PointResult) => p.record as Record<string, Scalar>;
  const group = (p: PointResult) => `${rec(p).engine}, max batch ${rec(p).max_batch}`;
  const series = (p: PointResult) => p.label;
  const out: string[] = [];
  const loadPts: LoadPoint[] = serve
    .filter((p) => typeof rec(p).load === 'number')
    .flatMap((p) =>
      (['mean', 'p99'] as const).map((metric) => ({
        group: group(p),
        series: series(p),
        load: Number(rec(p).load),
        metric,
        latency: Number(rec(p)[metric === 'mean' ? 'latency_mean' : 'latency_p99']),
      })),
    );
  if (loadPts.length) {
    out.push(
      `<h3>Latency vs load</h3>\n<p class="note">Mean and p99 request latency (arrival → last token, log scale) against the arrival rate as a fraction of the engine's capacity (its offline FCFS throughput at that max batch); one line per policy / predictor.</p>\n<div class="plot">${await renderSvg(latencyLoadSpec(loadPts))}</div>`,
    );
  }
  const samples: LatencySample[] = serve.flatMap((p) => {
    const lat = (p.detail as { latencies?: number[] } | undefined)?.latencies ?? [];
    const load = rec(p).load;
    const g = `${group(p)}, ${rec(p).arrival}${typeof load === 'number' ? ` at load ${load}` : ''}`;
    return lat.map((latency) => ({ group: g, series: series(p), latency: Math.max(latency, 1e-6) }));
  });
  if (samples.length) {
    out.push(
      `<h3>Latency CDF</h3>\n<p class="note">Fraction of requests finished within a latency (log scale), per policy / predictor; one panel per workload.</p>\n<div class="plot">${await renderSvg(latencyCdfSpec(samples))}</div>`,
    );
  }
  return `<h2>Serving</h2>\n${out.join('\n')}`;
}

export async function reportHtml(exp: Experiment, results: PointResult[], tableMd: string): Promise<string> {
  const points = results.filter((r) => r.stage === 'benchmark' || r.stage === 'simulate');
  const preferred = points.some((p) => p.stage === 'benchmark')
    ? points.filter((p) => p.stage === 'benchmark')
    : points;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(exp.name)} — seqsch report</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; } th, td { border-bottom: 1px solid #ddd; padding: 3px 9px; text-align: left; }
th { background: #f4f4f4; } .num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; } .plot svg { max-width: 100%; height: auto; } code { background: #f4f4f4; padding: 0 3px; }
</style></head><body>
<h1>${esc(exp.name)}</h1>
<p>From <code>${esc(exp.file)}</code>, ${results.length} points.</p>
${paperTable(preferred)}
<h2>Results</h2>
${markdownToHtml(tableMd.replace(/^# .*\n/, ''))}
${await plots(points)}
${await servingPlots(results)}
</body></html>
`;
}
