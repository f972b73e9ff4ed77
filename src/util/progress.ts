/**
 * One progress bar for every long loop (cli-progress). It draws on stderr when stderr is a TTY and
 * stays quiet otherwise (CI logs, pipes), so `--json` output on stdout is never interleaved.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** advance by `n` (default 1) and optionally update the named fields shown after the bar */
  tick(n?: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export function progress(label: string, total: number, fields: Record<string, string | number> = {}): Progress {
  if (!process.stderr.isTTY || process.env.CI) return { tick() {}, stop() {} };
  const extra = Object.keys(fields).map((k) => ` ${k} {${k}}`).join('');
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
