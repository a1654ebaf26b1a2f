/**
 * Option checks shared by the actor factories: each throws naming the factory and the field.
 * A factory runs every one of them through the runtime's `OptionChecks` before anything
 * starts, so a user reads about every bad field in one error (one bad field: its own
 * `TypeError`/`RangeError`; several: one `InvalidOptionsError` listing each).
 *
 * Not exported from the package.
 */
import { type ActorRef, type Message, OptionChecks } from '@troupe/runtime';

/**
 * Throws `TypeError` unless `options` is an object (then no field can be checked); otherwise
 * returns the `OptionChecks` that collects the field checks of `owner`.
 */
export function checkOptions(owner: string, options: unknown): OptionChecks {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `${owner}: options must be an object; got ${options === null ? 'null' : typeof options}`,
    );
  }
  return new OptionChecks(owner);
}

/** Throws `RangeError` unless `value` is a safe integer ≥ `min`. */
export function checkInteger(owner: string, field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${owner}: ${field} must be an integer >= ${min}; got ${String(value)}`);
  }
  return value;
}

/** Throws `RangeError` unless `value` is a finite number > 0 (a duration in ms). */
export function checkDuration(owner: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${owner}: ${field} must be a finite number > 0; got ${String(value)}`);
  }
  return value;
}

/** Throws `TypeError` unless `value` is a function. */
export function checkFunction<F>(owner: string, field: string, value: F): F {
  if (typeof value !== 'function') {
    throw new TypeError(`${owner}: ${field} must be a function; got ${typeof value}`);
  }
  return value;
}

/** Throws `TypeError` unless `value` looks like an actor ref (has `tell` and a `path`). */
export function checkRef<M extends Message>(owner: string, field: string, value: ActorRef<M>): ActorRef<M> {
  const ref = value as Partial<ActorRef<M>> | null | undefined;
  if (
    ref === null ||
    typeof ref !== 'object' ||
    typeof ref.tell !== 'function' ||
    typeof ref.path !== 'string'
  ) {
    throw new TypeError(`${owner}: ${field} must be an actor ref`);
  }
  return value;
}
