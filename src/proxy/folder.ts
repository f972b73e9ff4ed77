/**
 * The file that marks a proxy predictor folder (written and read by model.ts): kept apart from the predictor's
 * tfjs code so the train-predictor and predict jobs can name it (and `seqsch --help` load them) without tfjs.
 */
export const CONFIG_FILE = 'proxy_config.json';
