/** Markdown tables and the cells the stage tables share: text columns left-aligned, number columns right-aligned. */

/** A markdown table; the first `textColumns` columns are left-aligned, the rest (numbers) right-aligned. */
export function markdownRows(head: string[], textColumns: number, rows: string[][]): string {
  const lines = [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i < textColumns ? ' --- ' : ' ---: ')).join('|')}|`,
  ];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n') + '\n';
}

/** A number with `digits` decimals, or — when the value is not a number. */
export const numCell = (v: unknown, digits = 2): string => (typeof v === 'number' ? v.toFixed(digits) : '—');

/** A signed relative error as a percentage (0.052 → "+5.2 %"), or —. */
export const signedPctCell = (v: unknown): string =>
  typeof v === 'number' ? `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} %` : '—';
