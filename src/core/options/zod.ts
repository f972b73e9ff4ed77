/**
 * The YAML side of an option table (src/core/options/spec.ts): the zod shape of a stage's config, one field per
 * table entry that is not CLI-only, under its snake_case key, in table order. Each field runs the table's own
 * check (`checkValue`, the one the CLI runs), so both surfaces accept and reject the same values with the same
 * words; the experiment loader adds the file, key path and line. A YAML list may also be given as one value.
 */
import { z } from 'zod';
import { checkValue, snake, type OptionSpec, type OptionTable, type StageConfigOf } from './spec.js';

/** One entry's zod field: the table's check, then its default (or optional when it has none and is not required). */
function field(spec: OptionSpec): z.ZodType {
  if (spec.type === 'yaml') {
    const s = spec.zod(z);
    return spec.default !== undefined ? s.default(spec.default as never) : spec.required ? s : s.optional();
  }
  if (spec.yamlZod) return spec.yamlZod(z);
  const oneOrMore =
    spec.type === 'list' ? (v: unknown) => (v === undefined || Array.isArray(v) ? v : [v]) : (v: unknown) => v;
  const checked = z.any().transform((raw, ctx) => {
    const v = oneOrMore(raw);
    const problem = checkValue(spec, v);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return v;
  });
  const dflt = spec.yamlDefault ?? spec.default;
  if (dflt !== undefined)
    return z
      .any()
      .optional()
      .transform((v) => (v === undefined ? structuredClone(dflt) : v))
      .pipe(checked);
  // required: a missing key is reported by checkValue ('required'); `.partial()` (rows, base) wraps it in optional
  return spec.required ? checked : checked.optional();
}

type Fields<T> = { [K in keyof StageConfigOf<T>]-?: z.ZodType<StageConfigOf<T>[K]> };

/** The zod shape of a stage's keys, derived from the command's option table. */
export function stageFields<T extends OptionTable>(table: T): Fields<T> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, spec] of Object.entries(table)) if (spec.yaml !== false) shape[snake(name)] = field(spec);
  return shape as Fields<T>;
}
