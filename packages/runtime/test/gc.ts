import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Expose V8's collector to tests that check what channels keep alive.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Runs full collections, letting finalizers run in between, until `condition` holds.
 * `WeakRef.deref()` keeps its target alive until the current job ends, so each collection
 * runs in a fresh macrotask after the previous check. Bounded: throws after `attempts`
 * rounds rather than hanging.
 */
export async function collectGarbageUntil(condition: () => boolean, attempts = 20): Promise<void> {
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  for (let i = 0; i < attempts; i++) {
    await tick();
    gc();
    await tick();
    if (condition()) return;
  }
  throw new Error(`condition still false after ${attempts} garbage collections`);
}
