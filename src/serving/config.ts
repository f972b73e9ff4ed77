/**
 * One serving configuration as the `serve` experiment stage and `seqsch serve-bench` take it: the zod schema of
 * the option table in options.ts (unknown keys are errors; each key's rule is stated once there), and the
 * checks across keys, with messages naming them.
 */
import { z } from 'zod';
import { stageFields } from '../core/options/zod.js';
import { serveOptions } from './options.js';
import { PREDICTOR_NAMES } from '../core/names.js';

export const serveSchema = z.strictObject(stageFields(serveOptions));
export type ServeConfig = z.infer<typeof serveSchema>;

/** How a message names a key: the stage's `snake_key`, or the CLI's --kebab-key. */
export type KeyName = (key: string) => string;
export const yamlKey: KeyName = (k) => `\`${k}\``;
export const cliFlag: KeyName = (k) => `--${k.replace(/_/g, '-')}`;

/** Checks across keys, with messages naming them (as `name` spells a key); returns the config unchanged. */
export function checkServeConfig(c: ServeConfig, name: KeyName = yamlKey): ServeConfig {
  const bad = (m: string) => {
    throw new Error(`serve: ${m}`);
  };
  const k = name;
  if (c.trace_requests ? !c.trace : !c.data) bad(c.trace_requests ? `${k('trace_requests')} needs ${k('trace')}` : `${k('data')} (a conversations file) is required`);
  if (c.trace_requests && c.engine !== 'sim') bad(`${k('trace_requests')} (requests without text) needs ${k('engine')} sim`);
  if (c.arrival === 'trace' && !c.trace) bad(`${k('arrival')} trace needs ${k('trace')} (a CSV file)`);
  if (c.arrival === 'poisson' && c.rate === undefined && c.load === undefined) bad(`${k('arrival')} poisson needs ${k('rate')} (requests/s) or ${k('load')} (fraction of capacity)`);
  if (c.rate !== undefined && c.load !== undefined) bad(`give ${k('rate')} or ${k('load')}, not both`);
  if (c.arrival === 'offline' && (c.rate !== undefined || c.load !== undefined)) bad(`${k('arrival')} offline takes no ${k('rate')} or ${k('load')}`);
  if (c.engine === 'tfjs' && !c.model) bad(`${k('engine')} tfjs needs ${k('model')} (an HF checkpoint folder)`);
  if (c.engine === 'sim' && !c.trace_requests && !c.lengths) bad(`${k('engine')} sim needs ${k('lengths')} (the recorded response lengths it replays)`);
  if (c.policy !== 'fcfs' && c.policy !== 'static' && c.predictor === 'none') bad(`${k('policy')} ${c.policy} orders by predicted length: set ${k('predictor')} (${PREDICTOR_NAMES.filter((p) => p !== 'none').join(', ')})`);
  if (c.policy === 'static' && c.predictor === 'none') bad(`${k('policy')} static needs ${k('predictor')} (vanilla for the paper's vanilla row)`);
  if (c.predictor === 'constant' && c.constant === undefined) bad(`${k('predictor')} constant needs ${k('constant')} (its length)`);
  if ((c.predictor === 'proxy' || (c.engine === 'sim' && (c.predictor === 'seqsch' || c.predictor === 'po'))) && !c.predictions) bad(`${k('predictor')} ${c.predictor} needs ${k('predictions')} (a predictions file) here`);
  if ((c.predictor === 'oracle' || c.predictor === 'gt') && !c.lengths && !c.trace_requests) bad(`${k('predictor')} ${c.predictor} reads the recorded lengths: set ${k('lengths')}`);
  if (c.probe !== undefined && c.engine !== 'tfjs') bad(`${k('probe')} reads the serving model's hidden states: ${k('engine')} tfjs only`);
  if (c.probe !== undefined && c.policy !== 'srpt') bad(`${k('probe')} refines remaining lengths, which only ${k('policy')} srpt orders by (got ${c.policy})`);
  if (c.predictor_cost === 'perception' && c.engine !== 'sim') bad(`${k('predictor_cost')} perception charges a cost model: ${k('engine')} sim only`);
  return c;
}
