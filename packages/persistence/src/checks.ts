/**
 * The field checks the persistence options are made of. Each throws a `TypeError` or
 * `RangeError` naming its owner and field, or returns the value (with its default); they run
 * inside an `OptionChecks` from `@troupe/runtime`, so every bad field is reported at once.
 */
import type { PersistenceStore } from './store.js';

/** A non-empty string. */
export function requireString(owner: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${owner}: ${field} must be a non-empty string; got ${describe(value)}`);
  }
  return value;
}

/** A string when given (may be empty: a prefix `''` matches everything). */
export function optionalString(owner: string, field: string, value: unknown): string | undefined {
  if (value !== undefined && typeof value !== 'string') {
    throw new TypeError(`${owner}: ${field} must be a string; got ${describe(value)}`);
  }
  return value;
}

/** A function. */
export function requireFunction<F>(owner: string, field: string, value: F): F {
  if (typeof value !== 'function') {
    throw new TypeError(`${owner}: ${field} must be a function; got ${describe(value)}`);
  }
  return value;
}

/** A function when given. */
export function optionalFunction<F>(owner: string, field: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`${owner}: ${field} must be a function; got ${describe(value)}`);
  }
  return value;
}

/** A boolean when given, else `fallback`. */
export function optionalBoolean(owner: string, field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(`${owner}: ${field} must be a boolean; got ${describe(value)}`);
  }
  return value;
}

/** An integer `>= min` when given, else `fallback`. */
export function optionalInteger(
  owner: string,
  field: string,
  value: unknown,
  min: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${owner}: ${field} must be an integer >= ${min}; got ${describe(value)}`);
  }
  return value;
}

/** A finite number `> 0` when given, else `fallback`. */
export function optionalPositive(owner: string, field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${owner}: ${field} must be a finite number > 0; got ${describe(value)}`);
  }
  return value;
}

/** One of `allowed` when given, else `fallback`. */
export function oneOf<T extends string>(
  owner: string,
  field: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new TypeError(
      `${owner}: ${field} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; got ${describe(value)}`,
    );
  }
  return value as T;
}

/** An object with the methods of a `PersistenceStore`. */
export function requireStore(owner: string, value: unknown): PersistenceStore {
  const methods = ['write', 'readEvents', 'highestSeq', 'loadSnapshot', 'loadState', 'onAppend'] as const;
  if (
    value === null ||
    typeof value !== 'object' ||
    methods.some((m) => typeof (value as Record<string, unknown>)[m] !== 'function')
  ) {
    throw new TypeError(`${owner}: store must be a PersistenceStore; got ${describe(value)}`);
  }
  return value as PersistenceStore;
}

/** A short description of a bad value for an error message (never its whole content). */
export function describe(value: unknown): string {
  if (typeof value === 'string')
    return value.length > 40 ? `a string of ${value.length}` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
