/**
 * Restart intensity (OTP's `intensity`/`period`): a supervisor may restart at most
 * `maxRestarts` times within any `withinMs` window. The restart that would be the
 * `(maxRestarts + 1)`-th inside the window is refused: the supervisor gives up and escalates.
 */
export interface Intensity {
  /** Integer ≥ 0. 0 means the first exit to answer escalates. */
  readonly maxRestarts: number;
  /** Window length in ms, > 0. */
  readonly withinMs: number;
}

/** @internal Throws `RangeError` naming the field unless `intensity` is valid. */
export function validateIntensity(intensity: unknown): Intensity {
  const i = intensity as Partial<Intensity> | undefined;
  if (i === null || typeof i !== 'object') throw new TypeError('intensity must be { maxRestarts, withinMs }');
  if (typeof i.maxRestarts !== 'number' || !Number.isSafeInteger(i.maxRestarts) || i.maxRestarts < 0) {
    throw new RangeError(`intensity.maxRestarts must be an integer >= 0; got ${String(i.maxRestarts)}`);
  }
  if (typeof i.withinMs !== 'number' || !Number.isFinite(i.withinMs) || i.withinMs <= 0) {
    throw new RangeError(`intensity.withinMs must be a finite number > 0; got ${String(i.withinMs)}`);
  }
  return { maxRestarts: i.maxRestarts, withinMs: i.withinMs };
}

/**
 * The restart times inside the current window, oldest first: a queue with a head index, so
 * recording and expiring are O(1) amortised even when `maxRestarts` is large and a restart
 * storm outlasts the window.
 */
export class RestartWindow {
  private times: number[] = [];
  private head = 0;

  /** Restarts inside the window as of the last `admit`. */
  get count(): number {
    return this.times.length - this.head;
  }

  /**
   * Records a restart at `now` if intensity allows it, after dropping restarts older than the
   * window. Returns whether the restart is allowed (and recorded).
   */
  admit(now: number, intensity: Intensity): boolean {
    const times = this.times;
    while (this.head < times.length && (times[this.head] as number) <= now - intensity.withinMs) this.head++;
    if (this.head > 64 && this.head * 2 > times.length) {
      this.times = times.slice(this.head);
      this.head = 0;
    }
    if (this.count >= intensity.maxRestarts) return false;
    this.times.push(now);
    return true;
  }
}
