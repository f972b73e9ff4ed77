/** A tiny random LLaMA with an id-mapped LLaMA-1 tokenizer over the few texts a test uses. */
import { Llama } from '../../src/model/llama.js';
import { buildIdMap, remapTokenizer, type RemappedTokenizer } from '../../src/tokenizer/idmap.js';
import { llamaTokenizer } from '../../src/tokenizer/llama.js';
import { vicunaPrompt, type Conversation } from '../../src/data/conversation.js';
import { PIA_PROMPT, QUERY_PROMPT } from '../../src/data/prompts.js';
import { tinyConfig } from '../model/helpers.js';
import { conversation } from '../helpers/conversations.js';

export const QUERIES: Conversation[] = [
  conversation('11', 'List three animals.', '1. Cat\n2. Dog\n3. Cow'),
  conversation('12', 'Tell a short story about a fox.', 'A fox ran home. It slept.'),
  conversation('13', 'Say hi.', 'Hi.'),
];

export function tinyModelAndTokenizer(seed = 'perception'): { model: Llama; tokenizer: RemappedTokenizer } {
  const texts = QUERIES.flatMap((c) => [vicunaPrompt(c.conversations[0].value), c.conversations[1].value]);
  texts.push(QUERY_PROMPT, PIA_PROMPT, '0 1 2 3 4 5 6 7 8 9 tokens');
  const tokenizer = remapTokenizer(llamaTokenizer(), buildIdMap(texts, llamaTokenizer()));
  // std 0.3: peaked, varied logits, so greedy answers differ between prompts and between LoRA on and off
  const model = Llama.random(tinyConfig({ vocabSize: tokenizer.vocabSize, maxPositionEmbeddings: 256 }), seed, 0.3);
  return { model, tokenizer };
}
