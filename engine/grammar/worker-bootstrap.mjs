// Entry of the XGrammar worker thread. Node 20 does not apply the parent's loader hooks (tsx's `--import`) to a
// worker's entry, so when the engine runs from TypeScript sources this registers tsx in the thread before importing
// worker-thread.ts; from compiled JavaScript the entry is imported as is.
import { workerData } from 'node:worker_threads';

const { entry } = workerData;
if (entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(entry);
