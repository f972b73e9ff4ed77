/**
 * LoRA's configuration: which projections an adapter may target, its hyperparameters, and upstream train.sh's
 * defaults. Kept apart from lora.ts (which needs tfjs) so the CLI can list the choices without loading tfjs.
 */
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface LoraConfig {
  r: number;
  alpha: number;
  /** dropout on the adapter's input, applied only in training */
  dropout: number;
  targetModules: LoraTarget[];
  /** rank-stabilised LoRA: scaling = alpha / sqrt(r) */
  useRslora?: boolean;
}

export const DEFAULT_LORA: LoraConfig = { r: 8, alpha: 16, dropout: 0.05, targetModules: ['q_proj', 'v_proj'] };
