/**
 * The runtime's only source of time. Everything that waits — actor timers, ask timeouts,
 * XState delays — goes through a `Clock`, so tests can run on a `VirtualClock`
 * (`@troupe/runtime/testing`) and advance time explicitly instead of sleeping.
 *
 * The shape matches XState's clock (`setTimeout`/`clearTimeout`), so the same clock is handed
 * to machines.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (not wall-clock time). */
  now(): number;
  /** Calls `callback` once, after at least `ms` milliseconds. Returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a pending callback; unknown or already-fired handles are ignored. */
  clearTimeout(handle: unknown): void;
}

/** The real clock: `performance.now()` and Node's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
