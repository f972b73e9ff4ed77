/**
 * Experiment files: parse the YAML, validate it against the runner's schema and each stage's schema, and
 * expand every stage into configuration points (sweep grid × rows). Every problem is reported with the YAML
 * file, the key path and the line, before any work starts. Running the points is runner.ts's job.
 *
 *   experiment: sim-paper            # results go to results/<experiment>-<timestamp>/
 *   description: …
 *   stages:
 *     - stage: simulate               # a registered stage; its other keys are that stage's config
 *       data: data/alpaca/alpaca-val-10k.json.gz
 *       sweep: { cell: [25, 50] }     # grid over any of the stage's keys
 *       rows:                         # one result row per entry (label + overrides) per sweep point
 *         - { label: vanilla, strategy: vanilla }
 */
import { readFileSync, existsSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { getStage, stageNames, type Scalar, type StageDef } from './registry.js';
import { pathProblems } from '../util/job-paths.js';
import './stages.js'; // registers the built-in stages

export class ConfigError extends Error {}

type Path = (string | number)[];

/** Line (1-based) of the key at `path` in the YAML; falls back to the deepest existing ancestor. */
function lineOf(doc: Document, lc: LineCounter, path: Path): number {
  let node: unknown = doc.contents;
  let line = 1;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const key = pair.key as Node;
      if (key.range) line = lc.linePos(key.range[0]).line;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      node = node.items[seg];
      const r = (node as Node).range;
      if (r) line = lc.linePos(r[0]).line;
    } else break;
  }
  return line;
}

const fmtPath = (p: Path) =>
  p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('') || '(top level)';

class Problems {
  private list: string[] = [];
  constructor(
    private file: string,
    private doc: Document,
    private lc: LineCounter,
  ) {}
  add(path: Path, message: string): void {
    const m = `${this.file}:${lineOf(this.doc, this.lc, path)}: ${fmtPath(path)}: ${message}`;
    if (!this.list.includes(m)) this.list.push(m); // a base key is checked alone and again in every point
  }
  zod(base: Path, issues: z.core.$ZodIssue[]): void {
    for (const is of issues) {
      const p = [...base, ...(is.path as Path)];
      if (is.code === 'unrecognized_keys') for (const k of is.keys) this.add([...p, k], 'unknown key');
      else this.add(p, is.message);
    }
  }
  throwIfAny(): void {
    if (this.list.length) throw new ConfigError(`invalid experiment config:\n  ${this.list.join('\n  ')}`);
  }
}

const NAME = /^[A-Za-z0-9_.-]+$/;
const topSchema = z.strictObject({
  experiment: z.string().regex(NAME, 'letters, digits, _ . - only'),
  description: z.string().optional(),
  stages: z.array(z.looseObject({ stage: z.string() })).min(1),
});

export interface ConfigPoint {
  stage: string;
  stageIndex: number;
  /** row label (the row's `label`, or the stage name) */
  label: string;
  /** the sweep values of this point */
  swept: Record<string, Scalar>;
  /** the validated, defaulted stage config */
  config: Record<string, unknown>;
}

export interface Experiment {
  file: string;
  name: string;
  description?: string;
  /** the YAML as plain data */
  raw: unknown;
  points: ConfigPoint[];
}

function cartesian(keys: string[], values: unknown[][]): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  keys.forEach((k, i) => (out = out.flatMap((o) => values[i].map((v) => ({ ...o, [k]: v })))));
  return out;
}

const toScalar = (v: unknown): Scalar =>
  v === null || ['string', 'number', 'boolean'].includes(typeof v) ? (v as Scalar) : JSON.stringify(v);

/** Parse and validate an experiment file and expand it into points; throws ConfigError naming file, key and line. */
export function loadExperiment(file: string): Experiment {
  if (!existsSync(file)) throw new ConfigError(`${file}: experiment file not found`);
  const lc = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lc });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new ConfigError(`${file}:${e.linePos?.[0].line ?? '?'}: YAML syntax error: ${e.message.split('\n')[0]}`);
  }
  const raw = doc.toJS() as unknown;
  const problems = new Problems(file, doc, lc);
  const top = topSchema.safeParse(raw);
  if (!top.success) {
    problems.zod([], top.error.issues);
    problems.throwIfAny();
  }
  const exp = top.data!;
  const points: ConfigPoint[] = [];

  exp.stages.forEach((entry, si) => {
    const at: Path = ['stages', si];
    const def: StageDef | undefined = getStage(entry.stage);
    if (!def) {
      problems.add([...at, 'stage'], `unknown stage "${entry.stage}" (registered: ${stageNames().join(', ')})`);
      return;
    }
    const { stage: _s, rows, sweep, ...base } = entry as Record<string, unknown>;
    const partial = def.schema.partial();
    const baseCheck = partial.safeParse(base);
    if (!baseCheck.success) problems.zod(at, baseCheck.error.issues);

    // rows: label + partial overrides
    let rowList: { label: string; overrides: Record<string, unknown> }[] = [{ label: entry.stage, overrides: {} }];
    if (rows !== undefined) {
      if (!Array.isArray(rows) || rows.length === 0)
        problems.add([...at, 'rows'], 'expected a non-empty list of { label, …overrides }');
      else {
        rowList = rows.map((r, ri) => {
          const { label, ...overrides } = (r ?? {}) as Record<string, unknown>;
          if (typeof label !== 'string') problems.add([...at, 'rows', ri], 'each row needs a string label');
          const c = partial.safeParse(overrides);
          if (!c.success) problems.zod([...at, 'rows', ri], c.error.issues);
          return { label: String(label), overrides };
        });
      }
    }

    // sweep: key → non-empty list of values, each valid for that key
    const sweepKeys: string[] = [];
    const sweepValues: unknown[][] = [];
    if (sweep !== undefined) {
      if (sweep === null || typeof sweep !== 'object' || Array.isArray(sweep))
        problems.add([...at, 'sweep'], 'expected a map of key → list of values');
      else {
        for (const [k, vs] of Object.entries(sweep)) {
          const field = (def.schema.shape as Record<string, z.ZodType>)[k];
          if (!field) {
            problems.add(
              [...at, 'sweep', k],
              `unknown key (the ${entry.stage} stage has: ${Object.keys(def.schema.shape).join(', ')})`,
            );
            continue;
          }
          if (!Array.isArray(vs) || vs.length === 0) {
            problems.add([...at, 'sweep', k], 'expected a non-empty list of values');
            continue;
          }
          vs.forEach((v, vi) => {
            const c = field.safeParse(v);
            if (!c.success) problems.zod([...at, 'sweep', k, vi], c.error.issues);
          });
          rowList.forEach((r, ri) => {
            if (k in r.overrides)
              problems.add([...at, 'rows', ri, k], `also swept in stages[${si}].sweep; set it in one place`);
          });
          sweepKeys.push(k);
          sweepValues.push(vs);
        }
      }
    }

    for (const s of cartesian(sweepKeys, sweepValues)) {
      for (const r of rowList) {
        const full = def.schema.safeParse({ ...base, ...s, ...r.overrides });
        if (!full.success) {
          // unknown keys were reported where they stand, by the checks of the base, the rows and the sweep above
          problems.zod(
            at,
            full.error.issues.filter((is) => is.code !== 'unrecognized_keys'),
          );
          continue;
        }
        const crossKey = def.check?.(full.data, (k) => k);
        if (crossKey) {
          problems.add(rows !== undefined ? [...at, 'rows', rowList.indexOf(r)] : at, crossKey);
          continue;
        }
        points.push({
          stage: entry.stage,
          stageIndex: si,
          label: r.label,
          swept: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, toScalar(v)])),
          config: full.data as Record<string, unknown>,
        });
      }
    }
  });
  problems.throwIfAny();

  // Every file a point reads must exist now or be written by an earlier point.
  const produced = new Set<string>();
  const missing: string[] = [];
  for (const p of points) {
    const def = getStage(p.stage)!;
    for (const f of def.files?.(p.config as never) ?? []) {
      if (!existsSync(f.path) && !produced.has(f.path)) {
        missing.push(
          `${file}:${lineOf(doc, lc, ['stages', p.stageIndex, f.key])}: stages[${p.stageIndex}].${f.key}: file not found: ${f.path}`,
        );
      }
    }
    for (const o of def.outputs?.(p.config as never) ?? []) produced.add(o);
  }
  if (missing.length) throw new ConfigError(`missing data files:\n  ${[...new Set(missing)].join('\n  ')}`);

  // No output may destroy an input of its point or a folder that is not the stage's own (src/util/job-paths.ts).
  const clashes: string[] = [];
  for (const p of points) {
    const def = getStage(p.stage)!;
    const cfg = p.config as never;
    const inputs = def.files?.(cfg) ?? [];
    const key = (k: string) => `stages[${p.stageIndex}].${k}`;
    const at = (k: string, m: string) => `${file}:${lineOf(doc, lc, ['stages', p.stageIndex, k])}: ${m}`;
    for (const i of inputs) clashes.push(...pathProblems([i], [], key).map((m) => at(i.key, m)));
    for (const o of def.writes?.(cfg, {}) ?? [])
      clashes.push(...pathProblems(inputs, [o], key).map((m) => at(o.key, m)));
  }
  if (clashes.length) throw new ConfigError(`outputs and inputs:\n  ${[...new Set(clashes)].join('\n  ')}`);

  return { file, name: exp.experiment, description: exp.description, raw, points };
}
