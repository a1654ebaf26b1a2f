import type { ActorSystem, Clock } from '@troupe/runtime';
import { settle, type VirtualClock } from '@troupe/runtime/testing';

/** A promise that resolves after `ms` on `clock` (a handler "working" for `ms` of virtual time). */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    clock.setTimeout(resolve, ms);
  });
}

/**
 * Moves virtual time forward by `ms`, `stepMs` at a time, letting the system settle after each
 * step: work that one timer starts (a handler that then sleeps again) gets its own timers
 * inside the window, as it would on a real clock. `onStep` runs after each settled step.
 */
export async function runFor(
  system: ActorSystem,
  clock: VirtualClock,
  ms: number,
  stepMs = 1,
  onStep?: () => void,
): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += stepMs) {
    clock.advance(Math.min(stepMs, ms - elapsed));
    await settle(system);
    onStep?.();
  }
}
