/** Child process for the SIGKILL resume test: trains the toy model slowly, printing each step, until killed. */
import { initBackend } from '../../src/core/backend.js';
import { train } from '../../src/training/trainer.js';
import { Toy, toyTrainOptions } from './toy.js';

await initBackend('wasm');
const toy = new Toy(1);
await train(
  toyTrainOptions(toy, process.argv[2], {
    saveEvery: 2,
    onLog: async (e) => {
      process.stdout.write(`step ${e.step}\n`);
      await new Promise((r) => setTimeout(r, 50)); // slow enough for the parent to kill it mid-run
    },
  }),
);
