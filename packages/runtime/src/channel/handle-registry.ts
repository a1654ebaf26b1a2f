/**
 * Closing channel handles that are garbage-collected without being closed (the role of Rust's
 * `Drop` for tokio's senders and receivers). Best effort: finalizers run at the collector's
 * pace, so code should still close handles explicitly.
 *
 * @internal Not exported from the package.
 */

/** The part of a channel that counts its open senders. */
export interface SenderCount {
  senders: number;
  close(): void;
}

/** One sender handle's claim on its channel's sender count; released at most once. */
export class SenderToken {
  released = false;
  constructor(private readonly channel: SenderCount) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    if (--this.channel.senders === 0) this.channel.close();
  }
}

const senders = new FinalizationRegistry<SenderToken>((token) => token.release());
const others = new FinalizationRegistry<{ close(): void }>((closable) => closable.close());

/** Releases `token` when `handle` is collected. `token` must not reference `handle`. */
export function trackSender(handle: object, token: SenderToken): void {
  senders.register(handle, token, token);
}

/** Releases the token now (an explicit close); idempotent. */
export function releaseSender(token: SenderToken): void {
  if (token.released) return;
  senders.unregister(token);
  token.release();
}

/** Calls `closable.close()` when `handle` is collected. `closable` must not reference `handle`. */
export function closeWhenCollected(handle: object, closable: { close(): void }): void {
  others.register(handle, closable, closable);
}

/** Cancels {@link closeWhenCollected} for `closable` (it was closed explicitly). */
export function forget(closable: { close(): void }): void {
  others.unregister(closable);
}
