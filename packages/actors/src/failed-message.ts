/**
 * How the actors of this package fail one message without failing themselves: when a user
 * callback throws (a key function, a filter, a ref the user handed over), the message it was
 * called for becomes a `failed` dead letter carrying the error, and the actor keeps its state
 * and takes its next message. A handler that threw instead would fail the actor: its supervisor
 * would restart it from scratch (losing its windows, its open circuit, its pool's queues), and
 * without one it would stop.
 *
 * Not exported from the package.
 */
import type { ActorContext, ActorRef, Message } from '@troupe/runtime';

type Context = Pick<ActorContext<never>, 'system'>;

/**
 * Records `message` as a `failed` dead letter for `recipient` (a path), carrying `error`:
 * counted in `system.deadLetters` and published on `system.events`, as the runtime's own are.
 */
export function deadLetterFailed(ctx: Context, message: unknown, recipient: string, error: unknown): void {
  ctx.system.deadLetter('failed', message, recipient, error);
}

/**
 * `ref.tell(message)`, for a ref that came from a user (an option, a `replyTo` in a message):
 * if its `tell` throws, the message is a `failed` dead letter for it instead. False then.
 */
export function tellGuarded<M extends Message>(ctx: Context, ref: ActorRef<M>, message: M): boolean {
  try {
    ref.tell(message);
    return true;
  } catch (error) {
    deadLetterFailed(ctx, message, pathOf(ref), error);
    return false;
  }
}

/**
 * `ctx.send(ref, message)` (backpressure), for a ref that came from a user: if the ref throws
 * (its `trySend`, or its `send` when full), the message is a `failed` dead letter for it. False then.
 */
export function sendGuarded<M extends Message>(
  ctx: Context & Pick<ActorContext<never>, 'send'>,
  ref: ActorRef<M>,
  message: M,
): boolean {
  try {
    ctx.send(ref, message);
    return true;
  } catch (error) {
    deadLetterFailed(ctx, message, pathOf(ref), error);
    return false;
  }
}

/** Whether `value` looks like an actor ref (untyped callers can send anything). */
export function isRef(value: unknown): value is ActorRef<Message> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { path?: unknown }).path === 'string' &&
    typeof (value as { tell?: unknown }).tell === 'function'
  );
}

/** The ref's path for a dead letter, read without trusting the ref. */
function pathOf(ref: unknown): string {
  try {
    const path = (ref as { path?: unknown } | null)?.path;
    return typeof path === 'string' ? path : '(not an actor ref)';
  } catch {
    return '(not an actor ref)';
  }
}
