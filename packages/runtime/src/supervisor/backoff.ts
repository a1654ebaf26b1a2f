/**
 * Delay between an exit and the restart that answers it: exponential from `minMs`, doubling
 * with each consecutive restart of the same child, capped at `maxMs`, with ± `jitter` (a
 * fraction, 0–1) of randomness. A child that then runs `resetAfterMs` without exiting starts
 * again from `minMs`. Backoff delays restarts; intensity still counts every restart.
 */
export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
  /** Fraction of the delay added or removed at random; default 0. */
  readonly jitter?: number;
  /** Quiet time after which the delay resets to `minMs`; default `maxMs`. */
  readonly resetAfterMs?: number;
}

/** @internal */
export function validateBackoff(backoff: unknown): Required<Backoff> {
  const b = backoff as Partial<Backoff>;
  if (b === null || typeof b !== 'object')
    throw new TypeError('backoff must be { minMs, maxMs, jitter?, resetAfterMs? }');
  const num = (v: unknown, name: string, min = 0) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
      throw new RangeError(`backoff.${name} must be a finite number >= ${min}; got ${String(v)}`);
    }
    return v;
  };
  const minMs = num(b.minMs, 'minMs');
  const maxMs = num(b.maxMs, 'maxMs');
  if (maxMs < minMs) throw new RangeError(`backoff.maxMs (${maxMs}) must be >= backoff.minMs (${minMs})`);
  const jitter = num(b.jitter ?? 0, 'jitter');
  if (jitter > 1) throw new RangeError(`backoff.jitter must be between 0 and 1; got ${jitter}`);
  return { minMs, maxMs, jitter, resetAfterMs: num(b.resetAfterMs ?? maxMs, 'resetAfterMs') };
}

/**
 * The delay before the `attempt`-th consecutive restart (1-based). `random` in [0, 1) is
 * injected so the computation stays pure and testable.
 */
export function backoffDelay(backoff: Required<Backoff>, attempt: number, random: number): number {
  const base = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.max(0, attempt - 1));
  const spread = base * backoff.jitter * (2 * random - 1);
  return Math.max(0, Math.min(backoff.maxMs, base + spread));
}
