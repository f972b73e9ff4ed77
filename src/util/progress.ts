/**
 * One progress bar for every long loop (cli-progress). It draws on stderr when stderr is a TTY. Otherwise (a
 * log file, CI, a pipe) it writes plain lines to stderr instead — the first tick, then at most one every 10 s,
 * and the last — so a long run whose output goes to a file is never silent; `note` adds a line of its own
 * (the experiment runner's line per stage and per point). `--json` output on stdout is never interleaved.
 * Under the test runner (NODE_ENV=test) the lines are left out.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** advance by `n` (default 1) and optionally update the named fields shown after the bar */
  tick(n?: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

const quiet = () => process.env.NODE_ENV === 'test' || process.env.SEQSCH_QUIET === '1';
const clock = () => new Date().toTimeString().slice(0, 8);

/** A timestamped line on stderr when no bar is drawn (stderr not a TTY), e.g. `[12:03:04] stage 3/9: train`. */
export function note(line: string): void {
  if ((process.stderr.isTTY && !process.env.CI) || quiet()) return;
  process.stderr.write(`[${clock()}] ${line}\n`);
}

/** Lines instead of a bar: `label 37/320 (12%) loss 2.1`, at most one per `everyMs`, plus the last. */
function lineProgress(
  label: string,
  total: number,
  fields: Record<string, string | number>,
  everyMs = 10_000,
): Progress {
  let value = 0;
  let last = -Infinity;
  let printed = value;
  const f = { ...fields };
  const line = () => {
    printed = value;
    last = Date.now();
    const extra = Object.entries(f)
      .map(([k, v]) => ` ${k} ${v}`)
      .join('');
    note(`${label} ${value}/${total} (${total ? Math.round((100 * value) / total) : 100}%)${extra}`);
  };
  return {
    tick: (n = 1, upd) => {
      value += n;
      Object.assign(f, upd);
      if (Date.now() - last >= everyMs) line();
    },
    stop: () => {
      if (value !== printed) line();
    },
  };
}

/** `lines: false`: no lines in place of the bar (a caller that writes its own with `note`). */
export function progress(
  label: string,
  total: number,
  fields: Record<string, string | number> = {},
  opts: { lines?: boolean } = {},
): Progress {
  if (!process.stderr.isTTY || process.env.CI)
    return opts.lines === false ? { tick() {}, stop() {} } : lineProgress(label, total, fields);
  const extra = Object.keys(fields)
    .map((k) => ` ${k} {${k}}`)
    .join('');
  const bar = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(14)} {bar} {value}/{total} ETA {eta_formatted}${extra}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, fields);
  return {
    tick: (n = 1, f) => bar.increment(n, f),
    stop: () => bar.stop(),
  };
}
