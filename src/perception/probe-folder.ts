/**
 * The file names of a probe folder (written and read by probe.ts): kept apart from the probe's tfjs code so the
 * probe job can name its outputs (and `seqsch --help` load them) without loading tfjs.
 */
export const PROBE_CONFIG = 'probe_config.json';
export const PROBE_WEIGHTS = 'probe.safetensors';
