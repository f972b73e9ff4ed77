/**
 * The two length-perception prompts of the paper — the only place they are written — their insertion into a
 * vicuna prompt, and the parsers for what the model answers. QUERY_PROMPT is what the LoRA length predictor
 * (seqsch strategy) is tuned and queried with; PIA_PROMPT is Perception in Advance (po strategy), asked of
 * the base model, which states a length on its first line and then responds.
 */
import { ASSISTANT_TAG } from './conversation.js';

export const QUERY_PROMPT =
  "\nDon't output the response for the above instruction. Instead, you need to predict the number of tokens in your response. Output one number only.";
export const PIA_PROMPT =
  '\nBefore responding to the above instruction, you have to predict the length of your response. Print the estimated number of tokens in your response in the first line. Then change to a new line to respond to the instruction.';

/**
 * Insert a length prompt just before the prompt's final " ASSISTANT:" (its last 11 characters), as upstream's
 * `p[:-11] + PROMPT + p[-11:]`. Errors if the prompt does not end with " ASSISTANT:".
 */
export function insertLengthPrompt(prompt: string, lengthPrompt: string): string {
  if (!prompt.endsWith(ASSISTANT_TAG)) {
    throw new Error(
      `insertLengthPrompt: the prompt must end with ${JSON.stringify(ASSISTANT_TAG)} (vicuna_v1.1 template); it ends with ${JSON.stringify(prompt.slice(-20))}`,
    );
  }
  const cut = prompt.length - ASSISTANT_TAG.length;
  return prompt.slice(0, cut) + lengthPrompt + prompt.slice(cut);
}

/** Every run of ASCII digits in the text, as integers (upstream's `re.findall(r"\d+", s)`; Python's \d also takes other scripts' digits). */
function allNumbers(text: string): number[] {
  return (text.match(/[0-9]+/g) ?? []).map((s) => parseInt(s, 10));
}

/**
 * The length a PiA (po) answer states, upstream's `extract_all_numbers`: no number → 0; one number → it;
 * several → the mean of the first two (a stated range "100-150" → 125; the result may be fractional).
 */
export function parsePoLength(text: string): number {
  const n = allNumbers(text);
  if (n.length === 0) return 0;
  if (n.length === 1) return n[0];
  return (n[0] + n[1]) / 2;
}

/**
 * The length the LoRA predictor answers to QUERY_PROMPT. Upstream does `int(text.strip())` and crashes on
 * anything else; we return that integer when the answer is exactly one (after trimming), else the first
 * number in the text, and null when it holds no number — the caller decides how to count a missing
 * prediction (and should report how many there were).
 */
export function parseQueryLength(text: string): number | null {
  const t = text.trim();
  if (/^[+-]?[0-9]+$/.test(t)) return parseInt(t, 10);
  const n = allNumbers(t);
  return n.length > 0 ? n[0] : null;
}
