/**
 * FastChat conversation data and the vicuna_v1.1 prompt template, as the upstream code uses them:
 * conversation JSON I/O (`[{id, conversations: [{from: 'human'|'gpt', value}]}]`), the `*-length.json`
 * records that lenpred writes ({id, L_gt, L_t0.0, L_t0.3, L_t0.5, L_t0.7}), the vicuna prompt, and a
 * training example with its answer-only loss mask. The length prompts live in ./prompts.ts.
 */
import { readJson, writeJson } from '../util/fs.js';
import type { Tokenizer } from '../tokenizer/types.js';

// ─── conversations ───────────────────────────────────────────────────────────────────────────────────

export type Role = 'human' | 'gpt';
export interface Turn {
  from: Role;
  value: string;
}
export interface Conversation {
  id: string;
  conversations: Turn[];
}

/** Read FastChat conversation JSON; errors name the file, the item index and the key. */
export function loadConversations(path: string): Conversation[] {
  const raw = readJson<unknown>(path);
  if (!Array.isArray(raw)) throw new Error(`${path}: expected a JSON array of conversations`);
  raw.forEach((item: unknown, i) => {
    const where = `${path}: item ${i}`;
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw new Error(`${where}: expected an object {id, conversations}`);
    const c = item as Record<string, unknown>;
    if (typeof c.id !== 'string') throw new Error(`${where}: "id" must be a string (got ${JSON.stringify(c.id)})`);
    if (!Array.isArray(c.conversations))
      throw new Error(`${where} (id ${c.id}): "conversations" must be an array of turns`);
    c.conversations.forEach((t: unknown, j) => {
      const tw = `${where} (id ${c.id}): conversations[${j}]`;
      if (t === null || typeof t !== 'object') throw new Error(`${tw}: expected an object {from, value}`);
      const turn = t as Record<string, unknown>;
      if (turn.from !== 'human' && turn.from !== 'gpt')
        throw new Error(`${tw}: "from" must be "human" or "gpt" (got ${JSON.stringify(turn.from)})`);
      if (typeof turn.value !== 'string') throw new Error(`${tw}: "value" must be a string`);
    });
  });
  refuseDuplicateIds(path, raw as { id: string }[]);
  return raw as Conversation[];
}

/**
 * Ids key everything downstream (lengths, predictions, results by query): a repeated id would be simulated twice
 * and looked up as one. Refused naming the file, the id and both items.
 */
export function refuseDuplicateIds(path: string, items: { id: string }[]): void {
  const first = new Map<string, number>();
  items.forEach(({ id }, i) => {
    const j = first.get(id);
    if (j !== undefined) throw new Error(`${path}: id ${JSON.stringify(id)} appears twice (items ${j} and ${i})`);
    first.set(id, i);
  });
}

/** Write conversations atomically (upstream layout: a JSON array). */
export function saveConversations(path: string, items: Conversation[]): void {
  writeJson(path, items);
}

/** The first turn of a role (the instruction = first human turn, the reference answer = first gpt turn). */
export function firstTurn(c: Conversation, from: Role): string {
  const t = c.conversations.find((x) => x.from === from);
  if (!t) throw new Error(`conversation ${c.id}: has no "${from}" turn`);
  return t.value;
}

// ─── length records (lenpred output) ─────────────────────────────────────────────────────────────────

/** The four sampling temperatures of lenpred; `L_t${T}` keys as Python's f"L_t{t}" writes 0.0, 0.3, …. */
export const LENGTH_TEMPERATURES = [0.0, 0.3, 0.5, 0.7] as const;
export const LENGTH_KEYS = ['L_t0.0', 'L_t0.3', 'L_t0.5', 'L_t0.7'] as const;
export type LengthKey = (typeof LENGTH_KEYS)[number];

/** Token counts (LLaMA-1, BOS included) of the reference answer (L_gt) and of the answers generated at each T. */
export type LengthRecord = { id: string; L_gt: number } & Record<LengthKey, number>;

/** Read a `*-length.json` file; errors name the file, the item index and the key. */
export function loadLengths(path: string): LengthRecord[] {
  const raw = readJson<unknown>(path);
  if (!Array.isArray(raw)) throw new Error(`${path}: expected a JSON array of length records`);
  raw.forEach((item: unknown, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw new Error(`${path}: item ${i}: expected an object {id, L_gt, L_t0.0, …}`);
    const r = item as Record<string, unknown>;
    if (typeof r.id !== 'string')
      throw new Error(`${path}: item ${i}: "id" must be a string (got ${JSON.stringify(r.id)})`);
    for (const key of ['L_gt', ...LENGTH_KEYS]) {
      const v = r[key];
      if (!Number.isInteger(v) || (v as number) < 0)
        throw new Error(
          `${path}: item ${i} (id ${r.id}): "${key}" must be a token count ≥ 0 (got ${JSON.stringify(v)})`,
        );
    }
  });
  refuseDuplicateIds(path, raw as { id: string }[]);
  return raw as LengthRecord[];
}

/** Write length records atomically, keys in upstream order. */
export function saveLengths(path: string, records: LengthRecord[]): void {
  writeJson(
    path,
    records.map((r) => ({ id: r.id, L_gt: r.L_gt, ...Object.fromEntries(LENGTH_KEYS.map((k) => [k, r[k]])) })),
  );
}

/** L_max: the longest of the four generated lengths — the target of the length predictor. */
export function lMax(record: LengthRecord): number {
  return Math.max(...LENGTH_KEYS.map((k) => record[k]));
}

// ─── vicuna_v1.1 template ────────────────────────────────────────────────────────────────────────────

export const VICUNA_SYSTEM =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";
/** The end of every vicuna prompt; the length prompts are inserted just before it (./prompts.ts). */
export const ASSISTANT_TAG = ' ASSISTANT:';

/** The generation prompt for one instruction: SYSTEM + " USER: " + instruction + " ASSISTANT:". */
export function vicunaPrompt(instruction: string): string {
  return `${VICUNA_SYSTEM} USER: ${instruction}${ASSISTANT_TAG}`;
}

/** The training text FastChat builds: prompt + " " + answer + "</s>". */
export function vicunaTrainingText(instruction: string, answer: string): string {
  return `${vicunaPrompt(instruction)} ${answer}</s>`;
}

export interface TrainingExample {
  /** Token ids of prompt + " " + answer, then EOS; BOS first. (T,) */
  ids: number[];
  /** 1 where the loss is taken (answer tokens and the EOS), 0 on BOS and the prompt. (T,) */
  labelMask: number[];
}

/**
 * One supervised example with FastChat's answer-only loss mask.
 *
 * ids = encode(prompt + " " + answer) + [EOS]. For the LLaMA tokenizer this equals encode of the training text
 * with its literal "</s>" (the slow tokenizer turns "</s>" into the EOS id), and it works for tokenizers whose
 * EOS string is not "</s>".
 *
 * Boundary: the first encode(prompt).length positions (BOS + prompt) get mask 0, everything after gets 1. This
 * is the count FastChat masks (`instruction_len = len(tokenizer(prompt + " ").input_ids) - 2` after the BOS:
 * the "- 2" drops the BOS and the lone "▁" that a trailing space makes, because in the full text that space
 * merges into the answer's first piece, "▁answer"). The prompt ends in "ASSISTANT:" and ":" never merges with a
 * following space in LLaMA's vocabulary, so the full text's first encode(prompt).length ids are the prompt's ids
 * (held for all 10,000 Alpaca val prompts when this was written; test/data/conversation.test.ts checks the first 1000
 * against FastChat's arithmetic). Masking by count, as upstream does,
 * keeps the example identical to FastChat's even for a tokenizer where that did not hold.
 */
export function trainingExample(tokenizer: Tokenizer, instruction: string, answer: string): TrainingExample {
  if (tokenizer.eosId < 0) throw new Error(`trainingExample: tokenizer ${tokenizer.name} has no EOS token`);
  const prompt = vicunaPrompt(instruction);
  const promptLen = tokenizer.encode(prompt).length;
  const ids = [...tokenizer.encode(`${prompt} ${answer}`), tokenizer.eosId];
  const labelMask = ids.map((_, i) => (i < promptLen ? 0 : 1));
  return { ids, labelMask };
}
