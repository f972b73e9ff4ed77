/**
 * The proxy predictor's choices — encoder, head and decode rule — by name. Apart from heads.ts and model.ts
 * (which need tfjs) so the CLI and the experiment schemas can list them without loading tfjs.
 */
export type EncoderKind = 'llama' | 'bow';
export const ENCODER_KINDS: EncoderKind[] = ['llama', 'bow'];

export type HeadKind = 'buckets' | 'l1' | 'log-mse';
export const HEAD_KINDS: HeadKind[] = ['buckets', 'l1', 'log-mse'];

export type DecodeRule = 'median' | 'mean' | 'window50' | 'window100' | 'bucket50';
export const DECODE_RULES: DecodeRule[] = ['median', 'mean', 'window50', 'window100', 'bucket50'];

/** a bucket head's optional ranking term (heads.ts): ListMLE or RankNet's pairwise logistic loss */
export type RankLossKind = 'listmle' | 'pairwise';
export const RANK_LOSSES: RankLossKind[] = ['listmle', 'pairwise'];
