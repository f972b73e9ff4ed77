/**
 * Arrival traces from CSV files: one row per request with its arrival time and its prompt / response token
 * counts, in the column layouts of the public LLM serving traces —
 *   Azure LLM inference trace (2023/2024):  TIMESTAMP,ContextTokens,GeneratedTokens
 *                                           (TIMESTAMP "2023-11-16 18:15:46.6805900", wall-clock date)
 *   BurstGPT:                               Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
 *                                           (Timestamp in seconds from the trace's start; rows with 0 response
 *                                           tokens are failed requests and are dropped)
 *   plain:                                  timestamp,prompt_tokens,response_tokens (seconds)
 * The layout is recognised from the header. Times come back in seconds from the first row, sorted. It reads
 * files only; turning rows into requests is arrivals.ts's job.
 */
import { readFileSync, existsSync } from 'node:fs';

export interface TraceRow {
  /** seconds since the trace's first request */
  t: number;
  promptTokens: number;
  responseTokens: number;
}

export type TraceFormat = 'azure' | 'burstgpt' | 'plain';

interface Layout {
  format: TraceFormat;
  time: string;
  prompt: string;
  response: string;
  /** time column → [whole seconds, fraction] (absolute or relative; rows are shifted to start at 0) */
  parseTime: (s: string) => [number, number];
}

/**
 * "YYYY-MM-DD HH:MM:SS[.fffffff]" (UTC) → [whole seconds since the epoch, fraction]: kept apart because a double
 * holding ~1.7e9 s resolves only ~2e-7 s, and the trace gives 1e-7 (Date.parse keeps 3 digits).
 */
export function parseAzureTimestamp(s: string): [number, number] {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?$/.exec(s.trim());
  if (!m) return [NaN, 0];
  const day = Date.parse(`${m[1]}T00:00:00Z`) / 1000;
  return [day + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]), m[5] ? Number(m[5]) : 0];
}

/** A number of seconds → [whole, fraction]. */
function seconds(s: string): [number, number] {
  const x = s.trim() === '' ? NaN : Number(s);
  return [Math.floor(x), x - Math.floor(x)];
}

const LAYOUTS: Layout[] = [
  {
    format: 'azure',
    time: 'TIMESTAMP',
    prompt: 'ContextTokens',
    response: 'GeneratedTokens',
    parseTime: parseAzureTimestamp,
  },
  { format: 'burstgpt', time: 'Timestamp', prompt: 'Request tokens', response: 'Response tokens', parseTime: seconds },
  { format: 'plain', time: 'timestamp', prompt: 'prompt_tokens', response: 'response_tokens', parseTime: seconds },
];

/** Split one CSV line (fields may be double-quoted, "" escapes a quote). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') ((cur += '"'), i++);
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') (out.push(cur), (cur = ''));
    else cur += c;
  }
  out.push(cur);
  return out.map((f) => f.trim());
}

/** Read a trace CSV; errors name the file, the line and the column. */
export function loadTrace(path: string): { format: TraceFormat; rows: TraceRow[] } {
  if (!existsSync(path)) throw new Error(`${path}: trace file not found`);
  const lines = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new Error(`${path}: a trace needs a header line and at least one row`);
  const header = csvFields(lines[0]);
  const layout = LAYOUTS.find((l) => [l.time, l.prompt, l.response].every((c) => header.includes(c)));
  if (!layout) {
    throw new Error(
      `${path}: unknown trace layout (header: ${header.join(',')}); expected the Azure LLM inference trace ` +
        `(TIMESTAMP,ContextTokens,GeneratedTokens), BurstGPT (Timestamp,…,Request tokens,Response tokens,…) or timestamp,prompt_tokens,response_tokens`,
    );
  }
  const [ti, pi, ri] = [layout.time, layout.prompt, layout.response].map((c) => header.indexOf(c));
  const rows: (TraceRow & { frac: number })[] = [];
  lines.slice(1).forEach((line, k) => {
    const f = csvFields(line);
    const where = `${path}:${k + 2}`;
    const [t, frac] = layout.parseTime(f[ti] ?? '');
    const p = Number(f[pi]);
    const r = Number(f[ri]);
    if (!Number.isFinite(t)) throw new Error(`${where}: column ${layout.time} holds "${f[ti]}", not a time`);
    for (const [name, v] of [
      [layout.prompt, p],
      [layout.response, r],
    ] as const) {
      if (!Number.isInteger(v) || v < 0)
        throw new Error(
          `${where}: column ${name} holds "${f[name === layout.prompt ? pi : ri]}", not a token count ≥ 0`,
        );
    }
    if (layout.format === 'burstgpt' && r === 0) return; // a failed request
    rows.push({ t, frac, promptTokens: p, responseTokens: r });
  });
  if (rows.length === 0) throw new Error(`${path}: no request rows`);
  rows.sort((a, b) => a.t - b.t || a.frac - b.frac);
  const [t0, f0] = [rows[0].t, rows[0].frac];
  return {
    format: layout.format,
    rows: rows.map((r) => ({
      t: r.t - t0 + (r.frac - f0),
      promptTokens: r.promptTokens,
      responseTokens: r.responseTokens,
    })),
  };
}
