/**
 * Writes the two small trace samples in data/traces/ (`npx tsx scripts/make-trace-samples.ts`): synthetic
 * requests in the column layouts of the Azure LLM inference trace and of BurstGPT, so the trace loader
 * (src/workload/trace.ts) and the serving experiments have a file to read without downloads. They are not
 * excerpts of those traces: arrivals are a Poisson process whose rate alternates between a calm and a bursty
 * phase (the burstiness both traces show), token counts are log-normal with medians of the order the traces'
 * papers report for conversation requests. Seeded: the files are reproduced byte for byte. The real trace samples
 * beside them (Azure 2023, Mooncake) are copies of their publishers' files, not made here: data/traces/README.md.
 */
import seedrandom from 'seedrandom';
import { writeFileAtomic } from '../src/util/fs.js';

const rng = seedrandom('seqsch-trace-samples');
const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
const logNormal = (median: number, sigma: number, lo: number, hi: number) =>
  Math.round(Math.min(hi, Math.max(lo, median * Math.exp(sigma * normal()))));

/** n arrival times (s): rate `calm` for 20 s, then `burst` for 5 s, repeated. */
function arrivals(n: number, calm: number, burst: number): number[] {
  const out: number[] = [];
  let t = 0;
  while (out.length < n) {
    const rate = t % 25 < 20 ? calm : burst;
    t += -Math.log(1 - rng()) / rate;
    out.push(t);
  }
  return out;
}

// Azure LLM inference trace layout (conversation): TIMESTAMP,ContextTokens,GeneratedTokens
const azure = arrivals(400, 2, 10).map((t) => {
  const start = Date.UTC(2023, 10, 16, 18, 15, 46);
  const ms = start + t * 1000;
  const d = new Date(Math.floor(ms));
  const frac = (t % 1).toFixed(7).slice(2); // seven fraction digits, as the trace writes them
  const pad = (x: number) => String(x).padStart(2, '0');
  const stamp = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${frac}`;
  return `${stamp},${logNormal(1000, 0.9, 20, 8000)},${logNormal(130, 0.8, 1, 1500)}`;
});
writeFileAtomic(
  'data/traces/azure-conv-sample.csv',
  ['TIMESTAMP,ContextTokens,GeneratedTokens', ...azure].join('\n') + '\n',
);

// BurstGPT layout: Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type (Response 0 = a failed request)
const burst = arrivals(400, 1, 6).map((t) => {
  const model = rng() < 0.7 ? 'ChatGPT' : 'GPT-4';
  const req = logNormal(600, 1.0, 1, 12000);
  const res = rng() < 0.03 ? 0 : logNormal(250, 0.9, 1, 4000);
  return `${t.toFixed(3)},${model},${req},${res},${req + res},${rng() < 0.8 ? 'Conversation log' : 'API log'}`;
});
writeFileAtomic(
  'data/traces/burstgpt-sample.csv',
  ['Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type', ...burst].join('\n') + '\n',
);
console.log('wrote data/traces/azure-conv-sample.csv and data/traces/burstgpt-sample.csv (400 requests each)');
