/**
 * Build the benchmark's query list: read a conversations file and its recorded lengths, sample the subset
 * numpy-exactly (`--num-data N --seed S`), and attach to each query its prompt, prompt token count and
 * recorded lengths. Reading files and sampling only; prediction and scheduling happen later.
 */
import { readJson } from '../util/fs.js';
import { sampleIndices } from '../data/sample.js';
import { countTokens } from '../tokenizer/llama.js';
import type { BenchItem } from './engine.js';

interface ConversationRecord {
  id: string | number;
  conversations: { from: string; value: string }[];
}
type LengthRecord = { id: string | number } & Record<string, number | string>;

// TODO(conversation.ts): use its loadConversations/loadLengths and the vicuna_v1.1 prompt once it lands.
function readConversations(path: string): { id: string; query: string }[] {
  const raw = readJson<ConversationRecord[]>(path);
  if (!Array.isArray(raw)) throw new Error(`${path}: expected a JSON array of { id, conversations }`);
  return raw.map((r, i) => {
    const first = r?.conversations?.[0];
    if (r?.id === undefined || typeof first?.value !== 'string') throw new Error(`${path}: record ${i} needs id and conversations[0].value`);
    return { id: String(r.id), query: first.value };
  });
}

function readLengths(path: string): Map<string, Record<string, number>> {
  const raw = readJson<LengthRecord[]>(path);
  if (!Array.isArray(raw)) throw new Error(`${path}: expected a JSON array of { id, L_gt, L_t0.0, … }`);
  const byId = new Map<string, Record<string, number>>();
  for (const r of raw) {
    const rec: Record<string, number> = {};
    for (const [k, v] of Object.entries(r)) if (k !== 'id' && typeof v === 'number') rec[k] = v;
    byId.set(String(r.id), rec);
  }
  return byId;
}

export interface LoadItemsOptions {
  data: string;
  lengths?: string;
  /** sample this many queries with numpy's permutation (all, in file order, when omitted) */
  numData?: number;
  seed: number;
  /** count prompt tokens with the LLaMA tokenizer (the simulator's prefill cost); default true */
  countPromptTokens?: boolean;
}

export function loadBenchItems(o: LoadItemsOptions): BenchItem[] {
  const convs = readConversations(o.data);
  const lengths = o.lengths ? readLengths(o.lengths) : undefined;
  if (o.numData !== undefined && (o.numData < 1 || o.numData > convs.length)) {
    throw new Error(`--num-data ${o.numData}: ${o.data} has ${convs.length} queries`);
  }
  // upstream samples only when --num-data is given; otherwise the file's order is kept
  const picked = o.numData === undefined ? convs.map((_, k) => k) : sampleIndices(convs.length, o.numData, o.seed);
  return picked.map((k, index) => {
    const c = convs[k];
    const real = lengths?.get(c.id);
    if (lengths && !real) throw new Error(`${o.lengths}: no recorded lengths for query id ${c.id}`);
    return {
      id: c.id,
      index,
      prompt: c.query,
      promptTokens: o.countPromptTokens === false ? undefined : countTokens(c.query),
      realLengths: real,
    };
  });
}
