/**
 * The proxy predictor's choices — encoder, head and decode rule — by name. Apart from heads.ts and model.ts
 * (which need tfjs) so the CLI and the experiment schemas can list them without loading tfjs.
 */
export type EncoderKind = 'llama' | 'bow';
export const ENCODER_KINDS: EncoderKind[] = ['llama', 'bow'];

export type HeadKind = 'buckets' | 'l1' | 'log-mse';
export const HEAD_KINDS: HeadKind[] = ['buckets', 'l1', 'log-mse'];

/** The named decode rules (heads.ts): the proxy trainer chooses among these on held-out data. */
export type NamedDecodeRule = 'median' | 'mean' | 'window50' | 'window100' | 'bucket50';
export const DECODE_RULES: NamedDecodeRule[] = ['median', 'mean', 'window50', 'window100', 'bucket50'];
/** `q<p>`: the p-quantile of the bin distribution, 0 < p < 1 (q0.5 is the median); e.g. the probe's q0.4 */
export type QuantileRule = `q${number}`;
export type DecodeRule = NamedDecodeRule | QuantileRule;

/** The quantile of a `q<p>` rule, or undefined for a named rule. */
export function quantileOf(rule: DecodeRule): number | undefined {
  return rule.startsWith('q') ? Number(rule.slice(1)) : undefined;
}

/** Why `s` is not a decode rule (undefined when it is one): a named rule or q<p> with 0 < p < 1. */
export function decodeRuleProblem(s: string): string | undefined {
  if ((DECODE_RULES as string[]).includes(s)) return undefined;
  const m = /^q(0?\.\d+)$/.exec(s);
  if (m && Number(m[1]) > 0 && Number(m[1]) < 1) return undefined;
  return `decode rule "${s}" is not one of ${DECODE_RULES.join(', ')} or q<p> with 0 < p < 1 (e.g. q0.4)`;
}

/** a bucket head's optional ranking term (heads.ts): ListMLE or RankNet's pairwise logistic loss */
export type RankLossKind = 'listmle' | 'pairwise';
export const RANK_LOSSES: RankLossKind[] = ['listmle', 'pairwise'];
