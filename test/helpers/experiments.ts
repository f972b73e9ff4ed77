/** YAML pieces the experiment tests share. */
import { repoPath } from './paths.js';

/** A `benchmark` stage on the embedded default's model and val queries; `keys` (YAML lines indented by 4) complete it. */
export function tinyBenchmarkStage(keys: string): string {
  return `  - stage: benchmark
    model: ${repoPath('ckpts/tiny-v3')}
    data: ${repoPath('data/synthetic-v3/val.json')}
    lengths: ${repoPath('data/synthetic-v3/val-length.json')}
${keys}`;
}
