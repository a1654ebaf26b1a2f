/**
 * Sizing of the reliability suite. By default every scenario runs at a size that keeps the whole
 * `test/` folder well inside a CI budget on two cores; `TROUPE_SOAK=1` (`pnpm test:soak`) runs the
 * full counts. Both sizes assert exactly the same invariants.
 */
export const SOAK = process.env.TROUPE_SOAK === '1';

/** `ci` by default, `soak` under `TROUPE_SOAK=1`. */
export function size(ci: number, soak: number): number {
  return SOAK ? soak : ci;
}

/** A per-test time limit: generous under soak, where counts are 10–50× larger. */
export function timeLimit(ciMs: number, soakMs: number): number {
  return SOAK ? soakMs : ciMs;
}
