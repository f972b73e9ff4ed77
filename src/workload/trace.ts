/**
 * Arrival traces: one row per request with its arrival time and its prompt / response token counts (and, for
 * Mooncake, its prompt's block hashes), in the layouts of the public LLM serving traces —
 *   Azure LLM inference trace (2023/2024), CSV:  TIMESTAMP,ContextTokens,GeneratedTokens
 *       TIMESTAMP "2023-11-16 18:15:46.6805900" (wall-clock date, 1e-7 s); prompt = ContextTokens,
 *       response = GeneratedTokens
 *   BurstGPT, CSV:  Timestamp,[Session ID,Elapsed time,]Model,Request tokens,Response tokens,Total tokens,Log Type
 *       Timestamp in seconds; prompt = Request tokens, response = Response tokens; rows with 0 response tokens are
 *       failed requests and are dropped
 *   Mooncake (FAST'25 release), JSONL:  {"timestamp", "input_length", "output_length", "hash_ids"} per line
 *       timestamp in MILLISECONDS; prompt = input_length, response = output_length; hash_ids = ids of the prompt's
 *       512-token blocks (equal ids = equal prefix up to that block), kept on the row
 *   plain, CSV:  timestamp,prompt_tokens,response_tokens (seconds)
 * The layout is recognised from the first line (`{` → Mooncake JSONL, else a CSV header). Times come back in
 * seconds from the earliest row, rows sorted by time (stably: ties keep file order). Files are read line by line
 * in chunks (lines.ts; `.gz` read transparently), never as one string. A row whose time or counts do not parse —
 * empty, not a number, negative, counts not integers, an impossible date — is refused naming the file and line.
 *
 * Response tokens are the trace's generated tokens G, without EOS; the simulator records such a request's length
 * as G + 1 (the answer + EOS, as `L_t0.0` is recorded) — arrivals.ts traceItems. This module reads files only.
 */
import { forEachLine, LINE_CHUNK_BYTES } from './lines.js';

export interface TraceRow {
  /** seconds since the trace's first request */
  t: number;
  promptTokens: number;
  /** generated tokens G as the trace counts them (no EOS) */
  responseTokens: number;
  /** Mooncake: ids of the prompt's blocks of `Trace.hashBlockTokens` tokens, in order (absent in other layouts) */
  hashIds?: number[];
}

export type TraceFormat = 'azure' | 'burstgpt' | 'plain' | 'mooncake';

export interface Trace {
  format: TraceFormat;
  rows: TraceRow[];
  /** tokens per block of `TraceRow.hashIds` (Mooncake: 512); absent when the rows carry none */
  hashBlockTokens?: number;
}

/** Mooncake's hash_ids block size, tokens (FAST25-release/README.md: "The block size is 512 tokens.") */
export const MOONCAKE_BLOCK_TOKENS = 512;

interface CsvLayout {
  format: Exclude<TraceFormat, 'mooncake'>;
  time: string;
  prompt: string;
  response: string;
  /** time column → [whole seconds, fraction] (absolute or relative; rows are shifted to start at 0); null: bad */
  parseTime: (s: string) => [number, number] | null;
  /** what the time column should hold, for errors */
  timeIs: string;
}

/**
 * "YYYY-MM-DD HH:MM:SS[.fffffff]" (UTC) → [whole seconds since the epoch, fraction]: kept apart because a double
 * holding ~1.7e9 s resolves only ~2e-7 s, and the trace gives 1e-7 (Date.parse keeps 3 digits). [NaN, 0] when the
 * text is not such a date or names an impossible one (2023-02-30, 25:00:00).
 */
export function parseAzureTimestamp(s: string): [number, number] {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?$/.exec(s.trim());
  if (!m) return [NaN, 0];
  const day = utcDay(m[1]);
  const [h, mi, sec] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (Number.isNaN(day) || h > 23 || mi > 59 || sec > 59) return [NaN, 0];
  return [day + h * 3600 + mi * 60 + sec, m[5] ? Number(m[5]) : 0];
}

let lastDay = ['', NaN] as [string, number]; // a trace's rows share a few dates: parse each once
/** "YYYY-MM-DD" → seconds since the epoch at its UTC midnight; NaN for an impossible date (2023-02-30). */
function utcDay(ymd: string): number {
  if (ymd === lastDay[0]) return lastDay[1];
  const [y, mo, d] = ymd.split('-').map(Number);
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  const ok = back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d;
  lastDay = [ymd, ok ? ms / 1000 : NaN];
  return lastDay[1];
}

/** A number of seconds ≥ 0 → [whole, fraction]; null when empty, not a finite number, or negative. */
function seconds(s: string): [number, number] | null {
  const x = s.trim() === '' ? NaN : Number(s);
  if (!Number.isFinite(x) || x < 0) return null;
  return [Math.floor(x), x - Math.floor(x)];
}

const CSV_LAYOUTS: CsvLayout[] = [
  {
    format: 'azure',
    time: 'TIMESTAMP',
    prompt: 'ContextTokens',
    response: 'GeneratedTokens',
    parseTime: (s) => {
      const t = parseAzureTimestamp(s);
      return Number.isFinite(t[0]) ? t : null;
    },
    timeIs: 'a date YYYY-MM-DD HH:MM:SS[.fffffff]',
  },
  {
    format: 'burstgpt',
    time: 'Timestamp',
    prompt: 'Request tokens',
    response: 'Response tokens',
    parseTime: seconds,
    timeIs: 'a time in seconds ≥ 0',
  },
  {
    format: 'plain',
    time: 'timestamp',
    prompt: 'prompt_tokens',
    response: 'response_tokens',
    parseTime: seconds,
    timeIs: 'a time in seconds ≥ 0',
  },
];

/** Split one CSV line (fields may be double-quoted, "" escapes a quote). */
function csvFields(line: string): string[] {
  if (!line.includes('"')) return line.split(',').map((f) => f.trim()); // the common case, fast
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

/** A token count: an integer ≥ 0 (a CSV field's text or a JSON number); null otherwise. */
function tokenCount(v: unknown): number | null {
  const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isSafeInteger(x) && x >= 0 ? x : null;
}

const show = (v: unknown) => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v));

/** a row as read, with its time as [whole s, fraction] (sorted and shifted to 0 at the end) */
type RawRow = { whole: number; frac: number; row: TraceRow };

/** One Mooncake JSONL line → a row; errors name `where` (file:line) and the key. */
function mooncakeRow(line: string, where: string): RawRow {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    throw new Error(`${where}: not a JSON object (${(e as Error).message})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`${where}: not a JSON object`);
  const r = o as Record<string, unknown>;
  const ms = r.timestamp;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
    throw new Error(`${where}: timestamp is ${show(ms)}, not a time in milliseconds ≥ 0`);
  const p = tokenCount(r.input_length);
  const g = tokenCount(r.output_length);
  if (p === null) throw new Error(`${where}: input_length is ${show(r.input_length)}, not a token count ≥ 0`);
  if (g === null) throw new Error(`${where}: output_length is ${show(r.output_length)}, not a token count ≥ 0`);
  const row: TraceRow = { t: 0, promptTokens: p, responseTokens: g };
  if (r.hash_ids !== undefined) {
    const h = r.hash_ids;
    if (!Array.isArray(h) || !h.every((x) => Number.isSafeInteger(x) && x >= 0))
      throw new Error(`${where}: hash_ids must be a list of integer block ids ≥ 0`);
    const most = Math.ceil(p / MOONCAKE_BLOCK_TOKENS);
    if (h.length > most)
      throw new Error(
        `${where}: ${h.length} hash_ids for ${p} input tokens; blocks of ${MOONCAKE_BLOCK_TOKENS} tokens allow at most ${most}`,
      );
    row.hashIds = h as number[];
  }
  const whole = Math.floor(ms / 1000);
  return { whole, frac: ms / 1000 - whole, row };
}

/**
 * Read a trace (CSV or Mooncake JSONL, optionally `.gz`); errors name the file, the line and the column or key.
 * `chunkBytes`: the read size (tests use a few bytes to exercise chunk boundaries).
 */
export function loadTrace(path: string, opts: { chunkBytes?: number } = {}): Trace {
  let format = null as TraceFormat | null; // set by the callback (a cast: TS does not see callback assignments)
  let layout: CsvLayout | undefined;
  let cols: number[] = [];
  // rows as read, and their times as [whole s, fraction] in parallel arrays (no wrapper object per row: a
  // trace of 17M rows must fit the heap)
  const rows: TraceRow[] = [];
  const whole: number[] = [];
  const frac: number[] = [];
  const add = (w: number, f: number, row: TraceRow) => (rows.push(row), whole.push(w), frac.push(f));
  let withHashes = 0;
  forEachLine(
    path,
    (line, lineNo) => {
      if (line.trim() === '') return;
      const where = `${path}:${lineNo}`;
      if (format === null) {
        if (line.trimStart().startsWith('{')) format = 'mooncake';
        else {
          const header = csvFields(line);
          layout = CSV_LAYOUTS.find((l) => [l.time, l.prompt, l.response].every((c) => header.includes(c)));
          if (!layout)
            throw new Error(
              `${path}: unknown trace layout (header: ${header.join(',')}); expected the Azure LLM inference trace ` +
                `(TIMESTAMP,ContextTokens,GeneratedTokens), BurstGPT (Timestamp,…,Request tokens,Response tokens,…), ` +
                `Mooncake JSONL ({"timestamp","input_length","output_length","hash_ids"} per line) or ` +
                `timestamp,prompt_tokens,response_tokens`,
            );
          format = layout.format;
          cols = [layout.time, layout.prompt, layout.response].map((c) => header.indexOf(c));
          return;
        }
      }
      if (format === 'mooncake') {
        const r = mooncakeRow(line, where);
        if (r.row.hashIds) withHashes++;
        add(r.whole, r.frac, r.row);
        return;
      }
      const l = layout!;
      const f = csvFields(line);
      const [ti, pi, ri] = cols;
      const t = l.parseTime(f[ti] ?? '');
      if (!t) throw new Error(`${where}: column ${l.time} holds "${f[ti] ?? ''}", not ${l.timeIs}`);
      const p = tokenCount(f[pi] ?? '');
      const g = tokenCount(f[ri] ?? '');
      if (p === null) throw new Error(`${where}: column ${l.prompt} holds "${f[pi] ?? ''}", not a token count ≥ 0`);
      if (g === null) throw new Error(`${where}: column ${l.response} holds "${f[ri] ?? ''}", not a token count ≥ 0`);
      if (l.format === 'burstgpt' && g === 0) return; // a failed request
      add(t[0], t[1], { t: 0, promptTokens: p, responseTokens: g });
    },
    opts.chunkBytes ?? LINE_CHUNK_BYTES,
  );
  if (format === null) throw new Error(`${path}: empty; a trace needs a header line (CSV) or JSON rows`);
  const n = rows.length;
  if (n === 0) throw new Error(`${path}: no request rows`);
  if (withHashes > 0 && withHashes < n)
    throw new Error(`${path}: ${withHashes} of ${n} rows carry hash_ids; all or none must`);
  let order: ArrayLike<number> | null = null; // null: already in time order (the public traces are)
  for (let k = 1; k < n && !order; k++)
    if (whole[k] < whole[k - 1] || (whole[k] === whole[k - 1] && frac[k] < frac[k - 1]))
      order = Uint32Array.from({ length: n }, (_, i) => i).sort(
        (a, b) => whole[a] - whole[b] || frac[a] - frac[b] || a - b, // ties keep file order
      );
  const first = order ? order[0] : 0;
  const [w0, f0] = [whole[first], frac[first]];
  const sorted = order ? Array.from(order, (k) => rows[k]) : rows;
  for (let k = 0; k < n; k++) {
    const i = order ? order[k] : k;
    sorted[k].t = whole[i] - w0 + (frac[i] - f0);
  }
  const trace: Trace = { format, rows: sorted };
  if (withHashes > 0) trace.hashBlockTokens = MOONCAKE_BLOCK_TOKENS;
  return trace;
}
