/**
 * The runtime's only source of time. Everything that waits — actor timers, ask timeouts,
 * XState delays — goes through a `Clock`, so tests can run on a `VirtualClock`
 * (`@troupe/runtime/testing`) and advance time explicitly instead of sleeping.
 *
 * The shape matches XState's clock (`setTimeout`/`clearTimeout`), so the same clock is handed
 * to machines.
 */
export interface Clock {
  /**
   * Milliseconds on a monotonic scale. The system clock's scale is the Unix epoch's (it never goes
   * back within a process), so a deadline saved by one process means the same instant in the next.
   */
  now(): number;
  /** Calls `callback` once, after at least `ms` milliseconds. Returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a pending callback; unknown or already-fired handles are ignored. */
  clearTimeout(handle: unknown): void;
}

/**
 * The real clock: `performance.timeOrigin + performance.now()` (monotonic, on the epoch's scale:
 * `performance.now()` alone restarts near 0 in every process) and Node's timers.
 */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
