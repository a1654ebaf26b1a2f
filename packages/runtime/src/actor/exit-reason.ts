/**
 * Why an actor stopped, as in OTP.
 *
 * - `normal`: it finished by itself (its machine reached a final state, or it stopped itself).
 * - `shutdown`: it was stopped from outside (by its parent, `ctx.stop(ref)`, `system.stop`, or
 *   system shutdown).
 * - `error`: a handler threw or rejected, or its machine entered the `error` status.
 *
 * A `transient` child is restarted only after `error`.
 */
export type ExitReason =
  | { readonly type: 'normal' }
  | { readonly type: 'shutdown' }
  | { readonly type: 'error'; readonly error: unknown };

/** @internal */
export const NORMAL: ExitReason = Object.freeze({ type: 'normal' });
/** @internal */
export const SHUTDOWN: ExitReason = Object.freeze({ type: 'shutdown' });
