/**
 * Qiu et al.'s SSJF result as a ratio (issue 29, item 5): mean job completion time (JCT) of shortest-job-first on
 * their published proxy predictions ÷ FCFS's, on their LMSYS-Chat-1M Vicuna-13B requests (data/lmsys-ssjf/), in the
 * job-level setting their no-batching evaluation describes — our own code for their model, not theirs:
 * - one server, one job at a time, non-preemptive; a job's execution time = 0.1 s + 0.02 s × output tokens
 *   (their defaults `const_latency`, `per_token_latency`), its predicted time the same with the predicted class;
 * - NUM_JOBS = 50 jobs sampled at random from the file per run, 20 runs per arrival rate, rates 1…10 requests/s;
 *   arrivals on whole seconds: a Poisson(rate) count of requests arrives at each second (their generate_arrival_list);
 * - SJF picks the lowest predicted time (ties by arrival), except that the longest-waiting job goes first once it
 *   has waited more than 100 s or more than 10× its execution time (their SJF_STARVATION_* constants); FCFS by
 *   arrival. SJF on the true lengths (oracle) beside it.
 * Prints per rate Σ JCT(policy) ÷ Σ JCT(FCFS) over the runs, and over all rates. Seeded (seedrandom).
 *
 *   npx tsx scripts/ssjf-ratio.ts [--runs 20] [--jobs 50] [--seed 1] [--file data/lmsys-ssjf/<predictions>.csv.gz]
 * (default file: the `cls` predictions)
 */
import seedrandom from 'seedrandom';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const FILE = process.argv.includes('--file')
  ? process.argv[process.argv.indexOf('--file') + 1]
  : 'data/lmsys-ssjf/vicuna-13b-cls-predictions.csv.gz';
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 20);
const JOBS = arg('jobs', 50);
const SEED = arg('seed', 1);
const CONST_S = 0.1;
const PER_TOKEN_S = 0.02;
const STARVE_S = 100;
const STARVE_FACTOR = 10;

const rows = gunzipSync(readFileSync(FILE))
  .toString('utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line, i) => {
    const [tokens, cls] = line.split(',').map(Number);
    if (!(Number.isInteger(tokens) && Number.isInteger(cls)))
      throw new Error(`${FILE}: row ${i + 2} is not two integers`);
    return { tokens, cls };
  });

if (rows.length === 0) throw new Error(`${FILE}: no requests`);

interface Job {
  arrival: number;
  exec: number;
  predicted: number;
}

/** Knuth's Poisson sampler (rates here are ≤ 10). */
function poisson(rng: () => number, lambda: number): number {
  const l = Math.exp(-lambda);
  let [k, p] = [0, 1];
  do {
    k++;
    p *= rng();
  } while (p > l);
  return k - 1;
}

function makeJobs(rng: () => number, rate: number): Job[] {
  const arrivals: number[] = [];
  for (let second = 0; arrivals.length < JOBS; second++)
    for (let n = poisson(rng, rate); n > 0 && arrivals.length < JOBS; n--) arrivals.push(second);
  return arrivals.map((arrival) => {
    const r = rows[Math.floor(rng() * rows.length)];
    return { arrival, exec: CONST_S + PER_TOKEN_S * r.tokens, predicted: CONST_S + PER_TOKEN_S * r.cls };
  });
}

/** Mean JCT of one run; `key` orders the queue (null: FCFS). */
function meanJct(jobs: Job[], key: ((j: Job) => number) | null): number {
  let t = 0;
  let next = 0; // jobs are in arrival order
  const queue: Job[] = [];
  let total = 0;
  while (next < jobs.length || queue.length) {
    if (!queue.length) t = Math.max(t, jobs[next].arrival);
    while (next < jobs.length && jobs[next].arrival <= t) queue.push(jobs[next++]);
    let pick = 0; // queue is in arrival order: index 0 waited longest
    const oldest = queue[0];
    const starved = t - oldest.arrival > STARVE_S || t - oldest.arrival > STARVE_FACTOR * oldest.exec;
    if (key && !starved) for (let i = 1; i < queue.length; i++) if (key(queue[i]) < key(queue[pick])) pick = i;
    const [job] = queue.splice(pick, 1);
    t += job.exec;
    total += t - job.arrival;
  }
  return total / jobs.length;
}

const rng = seedrandom(`ssjf-ratio:${SEED}`);
const policies = { ssjf: (j: Job) => j.predicted, oracle: (j: Job) => j.exec };
const all = { fcfs: 0, ssjf: 0, oracle: 0 };
console.log(`${rows.length} requests in ${FILE}; ${RUNS} runs × ${JOBS} jobs per rate\n`);
console.log('| rate (req/s) | FCFS mean JCT (s) | SSJF ÷ FCFS | oracle SJF ÷ FCFS | SSJF ÷ FCFS per run: min–max |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
for (let rate = 1; rate <= 10; rate++) {
  const sum = { fcfs: 0, ssjf: 0, oracle: 0 };
  const perRun: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const jobs = makeJobs(rng, rate);
    const f = meanJct(jobs, null);
    const s = meanJct(jobs, policies.ssjf);
    sum.fcfs += f;
    sum.ssjf += s;
    sum.oracle += meanJct(jobs, policies.oracle);
    perRun.push(s / f);
  }
  for (const k of ['fcfs', 'ssjf', 'oracle'] as const) all[k] += sum[k];
  console.log(
    `| ${rate} | ${(sum.fcfs / RUNS).toFixed(1)} | ${(sum.ssjf / sum.fcfs).toFixed(3)} | ${(sum.oracle / sum.fcfs).toFixed(3)} | ${Math.min(...perRun).toFixed(2)}–${Math.max(...perRun).toFixed(2)} |`,
  );
}
console.log(
  `| all | ${(all.fcfs / (10 * RUNS)).toFixed(1)} | ${(all.ssjf / all.fcfs).toFixed(3)} | ${(all.oracle / all.fcfs).toFixed(3)} | |`,
);
