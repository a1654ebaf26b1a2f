/**
 * Which children a supervisor restarts when one exits (OTP strategies):
 * - `oneForOne`: only that child;
 * - `oneForAll`: all children (the others are stopped first, in reverse start order);
 * - `restForOne`: that child and every child started after it.
 */
export type Strategy = 'oneForOne' | 'oneForAll' | 'restForOne';

const STRATEGIES: readonly string[] = ['oneForOne', 'oneForAll', 'restForOne'];

/** @internal Throws `TypeError` naming the value unless it is a {@link Strategy}. */
export function validateStrategy(strategy: unknown): Strategy {
  if (typeof strategy !== 'string' || !STRATEGIES.includes(strategy)) {
    throw new TypeError(`strategy must be 'oneForOne', 'oneForAll' or 'restForOne'; got ${String(strategy)}`);
  }
  return strategy as Strategy;
}

/**
 * The ids affected by the exit of `failed`, in start order. Pure: `ids` are the live children
 * in start order.
 */
export function affectedChildren(strategy: Strategy, ids: readonly string[], failed: string): string[] {
  switch (strategy) {
    case 'oneForOne':
      return ids.includes(failed) ? [failed] : [];
    case 'oneForAll':
      return [...ids];
    case 'restForOne': {
      const at = ids.indexOf(failed);
      return at < 0 ? [] : ids.slice(at);
    }
    default:
      return strategy satisfies never;
  }
}
