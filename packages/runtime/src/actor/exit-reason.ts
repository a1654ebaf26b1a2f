/**
 * Why an actor stopped, as in OTP.
 *
 * - `normal`: it finished by itself (its machine reached a final state, or it stopped itself).
 * - `shutdown`: it was stopped from outside (by its parent, `ctx.stop(ref)`, `system.stop`, or
 *   system shutdown).
 * - `error`: a handler threw or rejected, its machine entered the `error` status, or it called
 *   `ctx.exit({ type: 'error', error })`.
 *
 * - `nodeDown`: only in the `Terminated` of a watched actor on another node of a cluster: its
 *   node left or was declared down, so whether it still runs is unknown and it is unreachable.
 *
 * A `transient` child is restarted only after `error`.
 */
export type ExitReason =
  | { readonly type: 'normal' }
  | { readonly type: 'shutdown' }
  | { readonly type: 'error'; readonly error: unknown }
  | { readonly type: 'nodeDown'; readonly node: string };

/** @internal */
export const NORMAL: ExitReason = Object.freeze({ type: 'normal' });
/** @internal */
export const SHUTDOWN: ExitReason = Object.freeze({ type: 'shutdown' });

/** @internal Throws `TypeError` unless `reason` is an {@link ExitReason}. */
export function validateExitReason(reason: unknown): ExitReason {
  const type = (reason as { type?: unknown } | null)?.type;
  if (type === 'normal') return NORMAL;
  if (type === 'shutdown') return SHUTDOWN;
  if (type === 'error' && reason !== null && typeof reason === 'object' && 'error' in reason) {
    return reason as ExitReason;
  }
  throw new TypeError(
    "exit: reason must be { type: 'normal' }, { type: 'shutdown' } or { type: 'error', error }",
  );
}
