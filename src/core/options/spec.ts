/**
 * One option table per command, the single definition of what a command accepts: the CLI flags (yargs) and
 * the keys of the matching experiment stage (zod, src/core/options/zod.ts) are both derived from it, so a bound
 * such as "batch size is an integer ≥ 1" is written once and checked on both surfaces — naming the flag
 * (`--batch-size: expected an integer ≥ 1, got 1.5`) or the YAML file, key and line (src/experiment/config.ts).
 * This module has no heavy imports (no zod, no tfjs): `seqsch --help` loads it, and the CLI checks its
 * arguments with `checkValue` below without loading zod.
 *
 * How to apply it to a command (and its stage, if it has one):
 *   1. In src/commands/<name>.ts, write the table; keys are the kebab-case flags, in the order the stage's
 *      config (and its written copies) should list them:
 *        export const fooOptions = defineOptions({
 *          data: { type: 'string', required: true, describe: 'conversations JSON' },
 *          'batch-size': { type: 'number', int: true, min: 1, default: 16 },
 *          backend: { ...BACKEND_OPTION },           // shared entries live in src/core/options/common.ts
 *          json: JSON_OPTION,                        // yaml: false — CLI only
 *        });
 *   2. Build the command from it: `export const fooCommand = command({ command: 'foo', describe, options:
 *      fooOptions, handler: async (args) => … })`. The handler receives the checked values (lists parsed,
 *      kebab-case keys, typed by `ArgsOf<typeof fooOptions>`); `builder` may add cross-flag `.check`s.
 *   3. In the stage: `schema: z.strictObject(stageFields(fooOptions))` (src/core/options/zod.ts); its keys are the
 *      snake_case names (`batch_size`), in table order.
 * Per-entry fields: `type` number | string | boolean | choice | list | yaml; number bounds `int`, `min`, `max`,
 * `gt`, `lt` (always finite); `required`; `default` (both surfaces) and `yamlDefault` (the stage's, where it
 * differs, e.g. backend auto vs wasm); `cli: false` (YAML-only key), `yaml: false` (CLI-only flag); `check`
 * (a custom test returning a problem or undefined); `yamlZod` (a hand-written zod schema for the YAML side
 * of an entry that the table cannot express, e.g. a string-or-object key).
 */
import type { Argv, CommandModule, Options, PositionalOptions } from 'yargs';
import type { z } from 'zod';

interface Common<V> {
  describe?: string;
  /** a CLI demandOption and a required YAML key */
  required?: boolean;
  default?: V;
  /** the stage's default where it differs from the CLI's */
  yamlDefault?: V;
  /** false: YAML-only key (no flag) */
  cli?: boolean;
  /** false: CLI-only flag (no stage key) */
  yaml?: boolean;
  /** a positional argument of the command (`experiment <file>`) instead of a flag */
  positional?: boolean;
  /** a hand-written zod schema for the YAML side (default and optionality included) */
  yamlZod?: (zod: typeof z) => z.ZodType;
}

export interface NumberBounds {
  /** an integer (counts, steps, seeds) */
  int?: boolean;
  /** inclusive bounds */
  min?: number;
  max?: number;
  /** exclusive bounds */
  gt?: number;
  lt?: number;
}

export interface NumberSpec extends Common<number>, NumberBounds {
  type: 'number';
}
export interface StringSpec extends Common<string> {
  type: 'string';
  /** a problem with the value, or undefined when it is fine */
  check?: (v: string) => string | undefined;
}
export interface BooleanSpec extends Common<boolean> {
  type: 'boolean';
}
export interface ChoiceSpec<C extends string = string> extends Common<C> {
  type: 'choice';
  choices: readonly C[];
}
/** A list: on the CLI comma-separated (`sep: ','`) or the flag repeated; in YAML a list (or one value). */
export interface ListSpec<E extends 'number' | 'string' | 'choice' = 'number' | 'string' | 'choice'>
  extends Common<readonly unknown[]>, NumberBounds {
  type: 'list';
  of: E;
  choices?: readonly string[];
  sep?: ',';
  /** fewest items (default 0; `required` lists need at least 1) */
  minItems?: number;
}
/** A YAML-only key whose schema is hand-written (e.g. a record); never a flag. */
export interface YamlSpec<T = unknown> extends Omit<Common<T>, 'yamlZod'> {
  type: 'yaml';
  cli: false;
  zod: (zod: typeof z) => z.ZodType<T>;
}

export type OptionSpec = NumberSpec | StringSpec | BooleanSpec | ChoiceSpec | ListSpec | YamlSpec;
export type OptionTable = Record<string, OptionSpec>;

/** Keeps the table's literal types (choices, list element kinds) for ArgsOf and stageFields. */
export function defineOptions<const T extends OptionTable>(table: T): T {
  return table;
}

// ---------------------------------------------------------------------------------------- types of the values

export type ValueOf<S> = S extends { type: 'number' }
  ? number
  : S extends { type: 'string' }
    ? string
    : S extends { type: 'boolean' }
      ? boolean
      : S extends { type: 'choice'; choices: readonly (infer C)[] }
        ? C
        : S extends { type: 'list'; of: 'number' }
          ? number[]
          : S extends { type: 'list'; of: 'choice'; choices: readonly (infer C)[] }
            ? C[]
            : S extends { type: 'list' }
              ? string[]
              : S extends { type: 'yaml'; zod: (zod: never) => z.ZodType<infer T> }
                ? T
                : never;
export type Always<S> = S extends { required: true } ? true : S extends { default: unknown } ? true : false;
type CliKeys<T> = { [K in keyof T]: T[K] extends { cli: false } ? never : K }[keyof T];

/** The checked CLI values of a table, by flag name (kebab-case), as a handler receives them. */
export type ArgsOf<T> = { [K in CliKeys<T>]: Always<T[K]> extends true ? ValueOf<T[K]> : ValueOf<T[K]> | undefined };

/** `batch-size` → `batch_size` */
export type Snake<S> = S extends `${infer A}-${infer B}` ? `${A}_${Snake<B>}` : S;
export const snake = (k: string): string => k.replace(/-/g, '_');

type YamlKeys<T> = { [K in keyof T]: T[K] extends { yaml: false } ? never : K }[keyof T];
type YamlValueOf<S> = S extends { yamlZod: (zod: never) => infer Z }
  ? Z extends z.ZodType
    ? z.output<Z>
    : never
  : Always<S> extends true
    ? ValueOf<S>
    : ValueOf<S> | undefined;
/** A stage config's type: snake_case keys, the YAML-side values. */
export type StageConfigOf<T> = { [K in YamlKeys<T> as Snake<K & string>]: YamlValueOf<T[K]> };

// ---------------------------------------------------------------------------------------- checking one value

const fmt = (v: unknown): string =>
  Number.isNaN(v)
    ? 'NaN (not a number)'
    : typeof v === 'string'
      ? JSON.stringify(v)
      : Array.isArray(v)
        ? `[${v.map(fmt).join(', ')}]`
        : String(v);

/** "an integer ≥ 1", "a number > 0 and < 1", "a finite number". */
export function describeNumber(b: NumberBounds): string {
  const parts: string[] = [];
  if (b.min !== undefined) parts.push(`≥ ${b.min}`);
  if (b.gt !== undefined) parts.push(`> ${b.gt}`);
  if (b.max !== undefined) parts.push(`≤ ${b.max}`);
  if (b.lt !== undefined) parts.push(`< ${b.lt}`);
  return `${b.int ? 'an integer' : parts.length ? 'a number' : 'a finite number'}${parts.length ? ' ' + parts.join(' and ') : ''}`;
}

function numberProblem(b: NumberBounds, v: unknown): string | undefined {
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (!b.int || Number.isInteger(v)) &&
    (b.min === undefined || v >= b.min) &&
    (b.max === undefined || v <= b.max) &&
    (b.gt === undefined || v > b.gt) &&
    (b.lt === undefined || v < b.lt);
  return ok ? undefined : `expected ${describeNumber(b)}, got ${fmt(v)}`;
}

function itemProblem(s: ListSpec, v: unknown): string | undefined {
  if (s.of === 'number') return numberProblem(s, v);
  if (typeof v !== 'string') return `expected a string, got ${fmt(v)}`;
  if (s.of === 'choice' && !s.choices!.includes(v)) return `${fmt(v)} is not one of ${s.choices!.join(', ')}`;
  return undefined;
}

/**
 * What is wrong with `v` as a value of `spec` (already parsed: a list is an array), or undefined. An absent value
 * (undefined) is fine unless the entry is required. The YAML side (zod.ts) and the CLI side (parseArgs) both call it.
 */
export function checkValue(spec: OptionSpec, v: unknown): string | undefined {
  if (v === undefined) return spec.required ? 'required' : undefined;
  switch (spec.type) {
    case 'number':
      return Array.isArray(v) ? `given more than once (${fmt(v)})` : numberProblem(spec, v);
    case 'string':
      if (typeof v !== 'string')
        return Array.isArray(v) ? `given more than once (${fmt(v)})` : `expected a string, got ${fmt(v)}`;
      return spec.check?.(v);
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `expected a boolean (true or false), got ${fmt(v)}`;
    case 'choice':
      return typeof v === 'string' && spec.choices.includes(v)
        ? undefined
        : `${fmt(v)} is not one of ${spec.choices.join(', ')}`;
    case 'list': {
      if (!Array.isArray(v)) return `expected a list, got ${fmt(v)}`;
      const min = spec.minItems ?? (spec.required ? 1 : 0);
      if (v.length < min) return `expected at least ${min} item${min > 1 ? 's' : ''}, got ${v.length}`;
      for (let i = 0; i < v.length; i++) {
        const p = itemProblem(spec, v[i]);
        if (p) return `item ${i + 1}: ${p}`;
      }
      return undefined;
    }
    case 'yaml':
      return undefined; // checked by its own zod schema
  }
}

// ---------------------------------------------------------------------------------------- the CLI side

/** The yargs option of one entry (type, choices, default, description). */
function yargsOption(spec: OptionSpec): Options {
  const o: Options = { describe: spec.describe };
  if (spec.required && !spec.positional) o.demandOption = true;
  switch (spec.type) {
    case 'number':
      // parsed here rather than by yargs, so a non-number reaches the check as the text the user typed
      // (`--lr fast` → got "fast", not NaN)
      o.type = 'string';
      o.coerce = toNumberIfNumeric;
      break;
    case 'string':
      o.type = 'string';
      break;
    case 'boolean':
      o.type = 'boolean';
      break;
    case 'choice':
      o.choices = [...spec.choices];
      break;
    case 'list':
      o.type = spec.of === 'number' && !spec.sep ? 'number' : 'string';
      if (!spec.sep) o.array = true;
      if (spec.of === 'choice' && !spec.sep) o.choices = [...spec.choices!];
      break;
  }
  if (spec.default !== undefined)
    o.default = spec.type === 'list' && spec.sep ? (spec.default as readonly unknown[]).join(spec.sep) : spec.default;
  const bounds =
    spec.type === 'number' &&
    (spec.int || spec.min !== undefined || spec.max !== undefined || spec.gt !== undefined || spec.lt !== undefined);
  if (bounds) o.describe = `${spec.describe ? spec.describe + '; ' : ''}${describeNumber(spec as NumberBounds)}`;
  return o;
}

/** `"1e-3"` → 0.001; anything that is not a finite number (`"fast"`, `"NaN"`, `""`) stays as given, for the check to name. */
function toNumberIfNumeric(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toNumberIfNumeric);
  if (typeof v !== 'string' || v.trim() === '') return v;
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}

/** Declare every flag (and positional) of a table on a yargs builder. */
export function withOptions<T>(y: Argv<T>, table: OptionTable): Argv<T> {
  for (const [name, spec] of Object.entries(table)) {
    if (spec.cli === false) continue;
    if (spec.positional)
      y = y.positional(name, { ...(yargsOption(spec) as PositionalOptions), demandOption: spec.required });
    else y = y.option(name, yargsOption(spec));
  }
  return y;
}

/** A comma-separated list flag as values (`0,0.3` → [0, 0.3]); non-numbers stay as text so the check names them. */
function splitList(spec: ListSpec, v: unknown): unknown {
  if (typeof v !== 'string' || !spec.sep) return v;
  const items = v
    .split(spec.sep)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return spec.of === 'number' ? items.map((s) => (Number.isFinite(Number(s)) ? Number(s) : s)) : items;
}

/**
 * The checked values of a command's flags (kebab-case keys; lists parsed; YAML-only keys at their defaults so a
 * handler can build a full stage config). Throws an Error naming the first bad flag.
 */
export function parseArgs<T extends OptionTable>(
  table: T,
  argv: Record<string, unknown>,
): ArgsOf<T> & Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    if (spec.cli === false) {
      if (spec.yaml !== false && spec.default !== undefined) out[name] = spec.yamlDefault ?? spec.default;
      continue;
    }
    const given = argv[name] ?? spec.default; // yargs fills defaults; a handler called directly gets them here
    const v = spec.type === 'list' ? splitList(spec, given) : given;
    const problem = checkValue(spec, v);
    if (problem) throw new Error(`${spec.positional ? name : `--${name}`}: ${problem}`);
    out[name] = v;
  }
  return out as ArgsOf<T> & Record<string, unknown>;
}

/** The same values under the stage's snake_case keys (CLI-only flags left out): what a stage's run would get. */
export function stageConfigOf<T extends OptionTable>(table: T, args: Record<string, unknown>): StageConfigOf<T> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table))
    if (spec.yaml !== false && args[name] !== undefined) out[snake(name)] = args[name];
  return out as StageConfigOf<T>;
}

/**
 * A yargs command from a table: its flags are declared from the table and the handler runs on the checked
 * values. `builder` may add what a table cannot say (cross-flag checks, examples).
 */
export function command<T extends OptionTable>(def: {
  command: string;
  describe: string;
  options: T;
  builder?: (y: Argv) => Argv;
  handler: (args: ArgsOf<T>) => Promise<void>;
}): CommandModule {
  return {
    command: def.command,
    describe: def.describe,
    builder: (y) => (def.builder ?? ((x: Argv) => x))(withOptions(y, def.options)),
    handler: async (argv) => def.handler(parseArgs(def.options, argv as Record<string, unknown>)),
  };
}
