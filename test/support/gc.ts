import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// V8's collector, for heap measurements (as packages/runtime/test/gc.ts does).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * The used heap after full collections, each in a fresh macrotask so that promise jobs and
 * finalizers of the previous round have run.
 */
export async function settledHeap(rounds = 4): Promise<number> {
  for (let i = 0; i < rounds; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    gc();
  }
  return process.memoryUsage().heapUsed;
}
