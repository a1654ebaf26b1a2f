import {
  type ActorRef,
  type AskOptions,
  type ExitReason,
  FOREIGN_REF,
  type ForeignRef,
  type ForeignWatcher,
  type ForeignWatchHooks,
  type Message,
  type TrySendResult,
  type WaitOptions,
} from '@troupe/runtime';

/** What a remote ref asks of the node that made it. @internal */
export interface RemoteTransport {
  tell(ref: RemoteRef<Message>, message: unknown): void;
  trySend(ref: RemoteRef<Message>, message: unknown): TrySendResult<unknown>;
  send(ref: RemoteRef<Message>, message: unknown, options?: WaitOptions): Promise<void>;
  ask<R extends Message>(
    ref: RemoteRef<Message>,
    build: (replyTo: ActorRef<R>) => unknown,
    options?: AskOptions,
  ): Promise<R>;
  watch(ref: RemoteRef<Message>, watcher: ForeignWatcher): void;
  unwatch(ref: RemoteRef<Message>, watcher: ForeignWatcher): void;
}

/**
 * The ref of an actor on another node: the same `ActorRef<M>` contract, over the wire.
 *
 * - `tell`: queued on the link to that node; never throws, never waits. What cannot go is a
 *   dead letter on this node: `unreachable` (node down, unknown, or left), `invalid` (the codec
 *   refused the message, or it is not a message), `mailboxFull` / `dropped` (the link is full,
 *   per its overflow policy). On the target node, a message for an actor that does not exist
 *   (any more) is a `stopped` dead letter there.
 * - `trySend`: `{ ok: true }` once queued on the link (not yet in the remote mailbox); `full`
 *   when the link is full under `block`; `closed` when the node is unreachable. Throws
 *   `MessageEncodeError` (or `TypeError` for a non-message) for what cannot be encoded.
 * - `send`: resolves once the **remote mailbox accepted** the message (an acknowledgement comes
 *   back), so a producer is slowed by a slow consumer on another node. Rejects with
 *   `ActorStoppedError` (no such actor there), `NodeUnreachableError` (node down, at once or
 *   when it goes down while waiting), `MessageEncodeError`, or the signal's reason.
 * - `ask`: as for a local actor (`AskTimeoutError`, a late reply is a `lateReply` dead letter
 *   here); rejects at once with `NodeUnreachableError` when the node is down.
 * - `ctx.watch(ref)`: `Terminated` when the remote actor stops (its reason), when it is found
 *   already stopped or unknown (reason `shutdown`), and when its node leaves or is declared
 *   down (reason `nodeDown`).
 * - **Known gone.** Once this node learns that the actor is gone (its `Terminated` arrived, or
 *   its node answered a send or an ask that it is stopped or unknown: a node restarted under
 *   the same name has none of the old actors), the ref fails at once, as a ref to a stopped
 *   local actor does: `tell` is a `stopped` dead letter here, `trySend` is `closed`, `send` and
 *   `ask` reject with `ActorStoppedError`, a watch ends with the reason it stopped with.
 *
 * Refs are interned: decoding the same address twice gives the same object while it is in use.
 *
 * @internal Users see it as `ActorRef<M>`.
 */
export class RemoteRef<M extends Message> implements ForeignRef<M> {
  readonly name: string;
  /** Set once the actor is known to be gone (how it stopped, as far as this node knows). */
  gone: ExitReason | null = null;
  readonly [FOREIGN_REF]: ForeignWatchHooks;

  constructor(
    private readonly transport: RemoteTransport,
    /** The full address, `troupe://cluster@node/path#id`. */
    readonly address: string,
    readonly node: string,
    readonly path: string,
    readonly id: string,
  ) {
    this.name = path.slice(path.lastIndexOf('/') + 1);
    const self = this as unknown as RemoteRef<Message>;
    this[FOREIGN_REF] = {
      watch: (watcher) => transport.watch(self, watcher),
      unwatch: (watcher) => transport.unwatch(self, watcher),
    };
  }

  tell(message: M): void {
    this.transport.tell(this as unknown as RemoteRef<Message>, message);
  }

  trySend<T extends M>(message: T): TrySendResult<T> {
    return this.transport.trySend(this as unknown as RemoteRef<Message>, message) as TrySendResult<T>;
  }

  send(message: M, options?: WaitOptions): Promise<void> {
    return this.transport.send(this as unknown as RemoteRef<Message>, message, options);
  }

  ask<R extends Message>(build: (replyTo: ActorRef<R>) => M, options?: AskOptions): Promise<R> {
    return this.transport.ask(this as unknown as RemoteRef<Message>, build, options);
  }

  toString(): string {
    return this.address;
  }

  toJSON(): { $ref: string } {
    return { $ref: this.address };
  }
}
