/**
 * construct (upstream src/construct.py): turn queries and their lenpred records into the instruction data the
 * length predictor is tuned on. The human turn gets QUERY_PROMPT appended, so the vicuna template puts it
 * right before the final " ASSISTANT:" (the same string as insertLengthPrompt on the prompt); the answer
 * becomes the bucketed length to predict, String(buckit(L_max, cell)). It does not train or generate.
 */
import { firstTurn, lMax, type Conversation, type LengthRecord } from '../data/conversation.js';
import { QUERY_PROMPT } from '../data/prompts.js';
import { buckit } from '../scheduling/buckets.js';

/**
 * One instruction example per length record, in the records' order. Upstream pairs the two files by index
 * and asserts equal ids; here records are looked up by id, so a lenpred subset of the queries works, and a
 * record without its query is an error naming the id. Only the first human and first gpt turn are kept
 * (upstream edits turns 0 and 1 in place; single-turn data such as Alpaca gives the same file).
 */
export function constructInstructData(
  convs: Conversation[],
  records: LengthRecord[],
  cell = 50,
  where = 'construct',
): Conversation[] {
  const byId = new Map(convs.map((c) => [c.id, c]));
  return records.map((r) => {
    const c = byId.get(r.id);
    if (!c) throw new Error(`${where}: length record id ${r.id} has no conversation in the data file`);
    return {
      id: c.id,
      conversations: [
        { from: 'human', value: firstTurn(c, 'human') + QUERY_PROMPT },
        { from: 'gpt', value: String(buckit(lMax(r), cell)) },
      ],
    };
  });
}
