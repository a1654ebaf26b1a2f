/**
 * Option checking that reports every bad field at once. Each factory or `start` that takes
 * options runs all its checks before anything starts; a user who got three fields wrong reads
 * about all three in one error instead of fixing them one run at a time.
 *
 * - No bad field: nothing is thrown.
 * - One bad field: its own `TypeError` or `RangeError` is thrown, message unchanged.
 * - Several: an {@link InvalidOptionsError} (a `TypeError`) lists them all, in check order,
 *   and keeps each one in `errors`.
 */

/** Several options were wrong at once; `errors` holds each field's own error, in check order. */
export class InvalidOptionsError extends TypeError {
  override readonly name = 'InvalidOptionsError';
  readonly code = 'INVALID_OPTIONS';
  constructor(
    /** What the options were for, e.g. `joinCluster`. */
    readonly owner: string,
    /** Each bad field's `TypeError` or `RangeError`. */
    readonly errors: readonly Error[],
  ) {
    super(`${owner}: ${errors.length} bad options: ${errors.map((e) => e.message).join('; ')}`);
  }
}

/**
 * Collects the outcome of many option checks (each a function that throws on a bad field), then
 * throws once for all of them. For packages built on the runtime that check their own options.
 *
 * @example
 * const checks = new OptionChecks('joinCluster');
 * const capacity = checks.run(() => integer('link.capacity', o.capacity), 65_536);
 * const cluster = checks.run(() => name('cluster', o.cluster), '');
 * checks.done(); // throws if any check threw
 */
export class OptionChecks {
  private readonly errors: Error[] = [];

  constructor(private readonly owner: string) {}

  /**
   * Runs one check and returns its value; a throw is recorded and `fallback` returned instead
   * (an `InvalidOptionsError` from a nested check counts as each of its errors).
   */
  run<T>(check: () => T, fallback: T): T {
    try {
      return check();
    } catch (error) {
      if (error instanceof InvalidOptionsError) this.errors.push(...error.errors);
      else this.errors.push(error instanceof Error ? error : new TypeError(String(error)));
      return fallback;
    }
  }

  /** Whether some check failed so far (later checks that depend on a bad field can be skipped). */
  get failed(): boolean {
    return this.errors.length > 0;
  }

  /** Throws nothing when every check passed, the error itself for one, an {@link InvalidOptionsError} for several. */
  done(): void {
    if (this.errors.length === 0) return;
    if (this.errors.length === 1) throw this.errors[0];
    throw new InvalidOptionsError(this.owner, this.errors);
  }
}
