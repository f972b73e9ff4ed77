/** The built-in experiment stages; importing this module registers them. A new stage adds one import here. */
import './simulate.js';
import './lenpred.js';
import './construct.js';
import './eval.js';
import './train.js';
import './benchmark.js';
import './calibrate.js';
import './check-perception.js';
import './proxy.js';
import './serve.js';
import './serve-calibrate.js';
import './probe.js';
