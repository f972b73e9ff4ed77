/** Option-table entries (src/core/options/spec.ts) and output helpers shared by the subcommands. */
import { BACKEND_CHOICES } from '../backend.js';

/** `--json`: CLI only. */
export const JSON_OPTION = {
  type: 'boolean',
  default: false,
  yaml: false,
  describe: 'print one JSON object as the last line',
} as const;

/** `--backend`: the CLI picks the fastest that starts; experiment stages default to wasm (the acceptance setting: 2 CPU cores). */
export const BACKEND_OPTION = {
  type: 'choice',
  choices: BACKEND_CHOICES,
  default: 'auto',
  yamlDefault: 'wasm',
  describe: 'tfjs backend (auto picks the fastest that starts: tensorflow > webgpu > wasm > cpu)',
} as const;

/** With --json, the last line printed is this object; otherwise `human` is printed. */
export function report(json: boolean, obj: unknown, human: () => string): void {
  if (json) console.log(JSON.stringify(obj));
  else console.log(human());
}
