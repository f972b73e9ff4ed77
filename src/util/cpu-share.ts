/**
 * How much of the machine other processes used while a measurement ran: busy CPU time of the whole system
 * (/proc/stat) less this process's own (/proc/self/stat), as a fraction of the interval's CPU capacity. Timing
 * on a small shared machine is only valid when that fraction is near 0; measurements record it so a disturbed
 * run can be recognised and rerun. Linux only: elsewhere the meter returns null.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Jiffies: [system busy, this process], or null off Linux. */
function sample(): [number, number] | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const busy = cpu.reduce((a, b) => a + b, 0) - cpu[3] - (cpu[4] ?? 0); // all but idle and iowait
    const self = readFileSync('/proc/self/stat', 'utf8');
    const f = self
      .slice(self.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number); // fields after the command name
    return [busy, f[11] + f[12]]; // utime + stime (fields 14, 15)
  } catch {
    return null;
  }
}

/** Start a meter; `stop()` gives the share of the CPUs other processes kept busy since (0–1), or null. */
export function foreignCpuMeter(): { stop(): number | null } {
  const t0 = performance.now();
  const s0 = sample();
  return {
    stop: () => {
      const s1 = sample();
      const seconds = (performance.now() - t0) / 1000;
      if (!s0 || !s1 || seconds <= 0) return null;
      const hz = 100; // USER_HZ: 100 on every Linux build Node runs on
      const foreign = (s1[0] - s0[0] - (s1[1] - s0[1])) / hz;
      return Math.max(0, foreign / (seconds * availableParallelism()));
    },
  };
}
