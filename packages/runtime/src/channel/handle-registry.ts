/**
 * Closing channel handles that are garbage-collected without being closed (the role of Rust's
 * `Drop` for tokio's senders and receivers). Best effort: finalizers run at the collector's
 * pace, so code should still close handles explicitly.
 *
 * Internal: not exported from the package.
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

/**
 * What every sender handle shares: its claim on the channel's sender count, released by
 * `close()` or when the handle is collected, and the check that a closed handle is not cloned.
 * Not exported from the package; the public Sender classes extend it.
 */
export abstract class SenderHandle<C extends SenderCount> {
  protected readonly channel: C;
  protected readonly token: SenderToken;

  protected constructor(channel: C) {
    this.channel = channel;
    this.token = new SenderToken(channel);
    trackSender(this, this.token);
  }

  /**
   * Closes this sender. Idempotent. The channel closes when its last open sender closes; values
   * already buffered are still delivered.
   */
  close(): void {
    releaseSender(this.token);
  }

  /** Counts one more sender for a clone; throws `TypeError` if this one is closed. */
  protected claimClone(kind: string): void {
    if (this.token.released) throw new TypeError(`cannot clone a closed ${kind}`);
    this.channel.senders++;
  }
}
