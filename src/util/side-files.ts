/**
 * The names of an experiment point's side files (`<run>/benchmark/<name>.json`, `<run>/serve/<name>.json`): the
 * row label and the sweep's values (`gt + VBS` swept over batch_size 2 → `gt_VBS_batch_size_2`), letters, digits
 * and `_ . -` only; a name an earlier point of the same experiment already has gains `-2`, `-3`, … (a label repeated
 * across rows or stages). The names depend only on the experiment's points, in file order, so a full run and every
 * shard of a sweep name a point alike and no point's side file overwrites another's. One helper for every stage
 * that writes side files; it writes nothing itself.
 */

/** `s` with every run of other characters replaced by `_` (trimmed); `row` when nothing is left. */
export const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'row';

/** A point's side-file name before numbering: its label and sweep values. */
export const sideFileBase = (label: string, swept: Record<string, unknown>) =>
  slug([label, ...Object.entries(swept).map(([k, v]) => `${k} ${String(v)}`)].join(' '));

/** Side-file names of every point, in order, unique: a repeated base gains -2, -3, … (never a name taken before). */
export function sideFileNames(points: { label: string; swept: Record<string, unknown> }[]): string[] {
  const taken = new Set<string>();
  return points.map((p) => {
    const base = sideFileBase(p.label, p.swept);
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}-${k}`;
    taken.add(name);
    return name;
  });
}
