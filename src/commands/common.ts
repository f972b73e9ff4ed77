/** Options and output helpers shared by the subcommands. */
import type { Argv } from 'yargs';
import { BACKEND_CHOICES, type BackendChoice } from '../backend.js';

export function withBackend<T>(y: Argv<T>) {
  return y.option('backend', {
    choices: BACKEND_CHOICES as BackendChoice[],
    default: 'auto' as BackendChoice,
    describe: 'tfjs backend (auto picks the fastest that starts: tensorflow > webgpu > wasm > cpu)',
  });
}

export function withJson<T>(y: Argv<T>) {
  return y.option('json', { type: 'boolean', default: false, describe: 'print one JSON object as the last line' });
}

/** With --json, the last line printed is this object; otherwise `human` is printed. */
export function report(json: boolean, obj: unknown, human: () => string): void {
  if (json) console.log(JSON.stringify(obj));
  else console.log(human());
}
