/**
 * The report's plots as vega-lite specs, rendered to SVG strings in Node (vega View with renderer 'none', no
 * browser, no canvas): speedup over vanilla and ETR per row, predicted vs real length with the Acc-50 band, the batch
 * timeline (decode steps and batch size over time) per row, and the predictor's error histogram. Each spec
 * function takes plain rows, so notebooks can draw the same charts; which rows go in is report-html.ts's job.
 */
import * as vl from 'vega-lite';
import * as vega from 'vega';

/** Compile a vega-lite spec and render it to an SVG string. */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface MetricRow {
  label: string;
  /** 'ours' or 'paper' */
  source: string;
  /**
   * throughput ÷ the same source's vanilla throughput. Ours (a 2.1M model, tens of samples/s) and the paper's
   * (Vicuna-7B, 1–3 samples/s) share no throughput axis, but their speedups over vanilla do.
   */
  speedup: number;
  /** effective token ratio, a fraction */
  etr: number;
}

/** Two bar charts side by side: speedup over vanilla (×) and ETR (%) per row; paper rows in grey. */
export function metricsSpec(rows: MetricRow[], speedupTitle = "Throughput ÷ vanilla's (×)"): vl.TopLevelSpec {
  const order = [...new Set(rows.map((r) => r.label))];
  const bar = (field: string, title: string) => ({
    mark: { type: 'bar', tooltip: true },
    width: 260,
    height: { step: 14 },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: order, title: null },
      yOffset: { field: 'source' },
      x: { field, type: 'quantitative', title },
      color: {
        field: 'source',
        type: 'nominal',
        title: null,
        scale: { domain: ['ours', 'paper'], range: ['#4c78a8', '#bab0ac'] },
      },
    },
  });
  return {
    data: { values: rows.map((r) => ({ ...r, etr_pct: r.etr * 100 })) },
    hconcat: [bar('speedup', speedupTitle), bar('etr_pct', 'Effective token ratio (%)')],
  } as vl.TopLevelSpec;
}

export interface LengthPoint {
  label: string;
  predicted: number;
  real: number;
}

/** Predicted vs real length per query, the diagonal and the Acc-50 band |predicted − real| ≤ 50. */
export function lengthScatterSpec(points: LengthPoint[], realTitle = 'Real length L_max (tokens)'): vl.TopLevelSpec {
  const max = Math.max(50, ...points.flatMap((p) => [p.predicted, p.real]));
  const band = [0, max].map((x) => ({ x, lo: Math.max(0, x - 50), hi: x + 50, y: x }));
  return {
    width: 420,
    height: 420,
    layer: [
      {
        data: { values: band },
        mark: { type: 'area', opacity: 0.15, color: '#54a24b' },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: realTitle, scale: { domain: [0, max] } },
          y: { field: 'lo', type: 'quantitative' },
          y2: { field: 'hi' },
        },
      },
      {
        data: { values: band },
        mark: { type: 'line', color: '#54a24b', strokeDash: [4, 3] },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, opacity: 0.45, size: 18 },
        encoding: {
          x: { field: 'real', type: 'quantitative' },
          y: {
            field: 'predicted',
            type: 'quantitative',
            title: 'Predicted length (tokens)',
            scale: { domain: [0, max + 50] },
          },
          color: { field: 'label', type: 'nominal', title: 'Predictor' },
        },
      },
    ],
  } as vl.TopLevelSpec;
}

export interface TimelineBatch {
  label: string;
  /** seconds since the row's first batch started */
  start: number;
  end: number;
  size: number;
  decodeSteps: number;
  phase: string;
}

/** Per row: one bar per batch over time, height = decode steps, colour = batch size. */
export function timelineSpec(batches: TimelineBatch[]): vl.TopLevelSpec {
  return {
    data: { values: batches },
    facet: { row: { field: 'label', type: 'nominal', title: null, sort: [...new Set(batches.map((b) => b.label))] } },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 560,
      height: 70,
      mark: { type: 'rect', tooltip: true, stroke: 'white', strokeWidth: 0.5 },
      encoding: {
        x: { field: 'start', type: 'quantitative', title: 'time (s)' },
        x2: { field: 'end' },
        y: { field: 'decodeSteps', type: 'quantitative', title: 'steps' },
        y2: { datum: 0 },
        color: { field: 'size', type: 'quantitative', title: 'batch size', scale: { type: 'log', scheme: 'viridis' } },
      },
    },
  } as vl.TopLevelSpec;
}

/** Histogram of predicted − real per predictor (bins of 10 tokens). */
export function errorHistogramSpec(points: LengthPoint[]): vl.TopLevelSpec {
  return {
    data: { values: points.map((p) => ({ label: p.label, error: p.predicted - p.real })) },
    facet: { row: { field: 'label', type: 'nominal', title: null } },
    spec: {
      width: 420,
      height: 90,
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'error', type: 'quantitative', bin: { step: 10 }, title: 'predicted − real (tokens)' },
        y: { aggregate: 'count', type: 'quantitative', title: 'queries' },
        color: { field: 'label', type: 'nominal', legend: null },
      },
    },
  } as vl.TopLevelSpec;
}

export interface LoadPoint {
  /** panel: engine and limits (e.g. "tfjs, max batch 16") */
  group: string;
  /** line: policy and predictor */
  series: string;
  /** arrival rate as a fraction of the capacity */
  load: number;
  metric: 'mean' | 'p99';
  /** seconds */
  latency: number;
}

/** Latency (mean and p99, log scale) against load, one line per policy/predictor, one panel row per engine setting. */
export function latencyLoadSpec(points: LoadPoint[]): vl.TopLevelSpec {
  return {
    data: { values: points },
    facet: {
      row: { field: 'group', type: 'nominal', title: null, sort: [...new Set(points.map((p) => p.group))] },
      column: { field: 'metric', type: 'nominal', title: null, sort: ['mean', 'p99'] },
    },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300,
      height: 180,
      mark: { type: 'line', point: true, tooltip: true },
      encoding: {
        x: { field: 'load', type: 'quantitative', title: 'load (fraction of capacity)', scale: { zero: false } },
        y: { field: 'latency', type: 'quantitative', title: 'latency (s)', scale: { type: 'log' } },
        color: { field: 'series', type: 'nominal', title: 'policy / predictor' },
      },
    },
  } as vl.TopLevelSpec;
}

export interface LatencySample {
  /** panel: the workload (engine, limits, load) */
  group: string;
  series: string;
  latency: number;
}

/** Empirical CDF of request latency (log scale) per policy/predictor, one panel per workload. */
export function latencyCdfSpec(samples: LatencySample[]): vl.TopLevelSpec {
  return {
    data: { values: samples },
    transform: [
      { window: [{ op: 'cume_dist', as: 'cdf' }], sort: [{ field: 'latency' }], groupby: ['group', 'series'] },
    ],
    facet: { row: { field: 'group', type: 'nominal', title: null, sort: [...new Set(samples.map((s) => s.group))] } },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 560,
      height: 160,
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: { field: 'latency', type: 'quantitative', title: 'request latency (s)', scale: { type: 'log' } },
        y: { field: 'cdf', type: 'quantitative', title: 'fraction of requests' },
        color: { field: 'series', type: 'nominal', title: 'policy / predictor' },
      },
    },
  } as vl.TopLevelSpec;
}
