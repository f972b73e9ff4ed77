/** One-turn FastChat conversations (a human question, a gpt answer) written in one line each. */
import type { Conversation } from '../../src/data/conversation.js';

/** `{id, conversations: [{from: 'human', value: question}, {from: 'gpt', value: answer}]}`. */
export function conversation(id: string, question: string, answer: string): Conversation {
  return {
    id,
    conversations: [
      { from: 'human', value: question },
      { from: 'gpt', value: answer },
    ],
  };
}
