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
 * Records a restart at `now` if intensity allows it. `times` holds earlier restart times,
 * oldest first; entries older than the window are dropped. Returns whether the restart is
 * allowed (and recorded). Pure apart from updating `times`.
 */
export function admitRestart(times: number[], now: number, intensity: Intensity): boolean {
  while (times.length > 0 && (times[0] as number) <= now - intensity.withinMs) times.shift();
  if (times.length >= intensity.maxRestarts) return false;
  times.push(now);
  return true;
}
