/**
 * One serving configuration as the `serve` experiment stage and `seqsch serve-bench` take it: the zod schema of
 * the option table in options.ts (unknown keys are errors; each key's rule is stated once there), and the
 * checks across keys (stated in options.ts beside the table, zod-free for the CLI) as a throw for the run.
 */
import { z } from 'zod';
import { stageFields } from '../core/options/zod.js';
import { serveConfigProblem, serveOptions } from './options.js';

export const serveSchema = z.strictObject(stageFields(serveOptions));
export type ServeConfig = z.infer<typeof serveSchema>;

/** How a message names a key: the stage's `snake_key`, or the CLI's --kebab-key. */
export type KeyName = (key: string) => string;
export const yamlKey: KeyName = (k) => `\`${k}\``;
export const cliFlag: KeyName = (k) => `--${k.replace(/_/g, '-')}`;

/** The checks across keys (serveConfigProblem, options.ts) as a throw; returns the config unchanged. */
export function checkServeConfig(c: ServeConfig, name: KeyName = yamlKey): ServeConfig {
  const problem = serveConfigProblem(c, name);
  if (problem) throw new Error(problem);
  return c;
}
