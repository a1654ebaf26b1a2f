import {
  type ActorRef,
  ActorStoppedError,
  type ActorSystem,
  AskTimeoutError,
  type Message,
  MessageDroppedError,
  type TrySendResult,
} from '@troupe/runtime';
import { AckResult } from './frame.js';

const OK: TrySendResult<never> = Object.freeze({ ok: true }) as TrySendResult<never>;

/**
 * Refs of this node that are not actors but must be reachable from other nodes: the reply refs
 * of remote asks made here (`/temp/ask-<n>`), and any other non-actor ref a message carries out
 * (an ask's reply ref of the runtime, forwarded: `/temp/ref-<n>`, kept for `exportTtlMs`).
 *
 * @internal
 */
export class Replies {
  private nextAsk = 0;
  private nextExport = 0;
  private readonly asks = new Map<number, RemoteAskReply>();
  private readonly exported = new Map<number, { ref: ActorRef<Message>; expires: number }>();
  private readonly exportedIds = new WeakMap<object, number>();

  constructor(
    private readonly system: ActorSystem,
    private readonly exportTtlMs = 300_000,
    private readonly maxExported = 100_000,
  ) {}

  /** A one-shot reply ref for an ask to `target`; settles the returned promise. */
  ask<R extends Message>(
    target: string,
    node: string,
    timeoutMs: number,
  ): { ref: RemoteAskReply; promise: Promise<R> } {
    const n = ++this.nextAsk;
    let ref!: RemoteAskReply;
    const promise = new Promise<R>((resolve, reject) => {
      ref = new RemoteAskReply(n, target, node, timeoutMs, resolve as (m: Message) => void, reject, this);
    });
    this.asks.set(n, ref);
    ref.arm(this.system);
    return { ref, promise };
  }

  forget(n: number): void {
    this.asks.delete(n);
  }

  /**
   * The target node answered that ask `n` (to `node`) failed there; rejects it with the error a
   * local ask gives. Returns the asked address when the target is gone (no such actor, or
   * stopped), else undefined. An answer for an ask already settled, or to another node, is
   * ignored.
   */
  failed(node: string, n: number, result: AckResult): string | undefined {
    const reply = this.asks.get(n);
    if (reply === undefined || reply.node !== node) return undefined;
    if (result === AckResult.Stopped) {
      reply.fail(new ActorStoppedError(reply.target));
      return reply.target;
    }
    reply.fail(
      result === AckResult.Dropped
        ? new MessageDroppedError(reply.target)
        : new TypeError(`ask to ${reply.target}: the receiving node could not decode the request`),
    );
    return undefined;
  }

  /** Every pending ask (to fail those to a node that went down). */
  pending(): IterableIterator<RemoteAskReply> {
    return this.asks.values();
  }

  /** The `/temp/…` path under which `ref` (not an actor of this system) is reachable. */
  export(ref: ActorRef<Message>): string {
    if (ref instanceof RemoteAskReply) return ref.path;
    let n = this.exportedIds.get(ref);
    const expires = Date.now() + this.exportTtlMs;
    if (n === undefined || !this.exported.has(n)) {
      n = ++this.nextExport;
      this.exportedIds.set(ref, n);
      if (this.exported.size >= this.maxExported) {
        const oldest = this.exported.keys().next().value as number;
        this.exported.delete(oldest);
      }
    } else this.exported.delete(n); // re-inserted below: the map stays in expiry order
    this.exported.set(n, { ref, expires });
    return `/temp/ref-${n}`;
  }

  /**
   * The ref behind a `/temp/…` path, or why there is none: `lateReply` for an ask that already
   * settled or timed out, `stopped` for anything else.
   */
  resolve(path: string): ActorRef<Message> | 'lateReply' | 'stopped' {
    const ask = /^\/temp\/ask-(\d{1,15})$/.exec(path);
    if (ask !== null) {
      const n = Number(ask[1]);
      const live = this.asks.get(n);
      if (live !== undefined) return live;
      return n <= this.nextAsk ? 'lateReply' : 'stopped';
    }
    const ref = /^\/temp\/ref-(\d{1,15})$/.exec(path);
    if (ref !== null) {
      const entry = this.exported.get(Number(ref[1]));
      if (entry !== undefined && entry.expires > Date.now()) return entry.ref;
    }
    return 'stopped';
  }
}

/**
 * The reply ref of an ask to a remote actor. The first message settles the ask; a later one is
 * a `lateReply` dead letter (which `Replies.resolve` also reports once it is forgotten).
 *
 * @internal
 */
export class RemoteAskReply implements ActorRef<Message> {
  readonly path: string;
  readonly id: string;
  readonly name: string;
  settled = false;
  private timer: ReturnType<ActorSystem['clock']['setTimeout']> | undefined;
  private system: ActorSystem | undefined;

  constructor(
    readonly n: number,
    /** The asked actor's address. */
    readonly target: string,
    /** The asked actor's node. */
    readonly node: string,
    private readonly timeoutMs: number,
    private readonly resolve: (reply: Message) => void,
    private readonly reject: (error: unknown) => void,
    private readonly owner: Replies,
  ) {
    this.name = `ask-${n}`;
    this.id = this.name;
    this.path = `/temp/${this.name}`;
  }

  arm(system: ActorSystem): void {
    this.system = system;
    try {
      this.timer = system.clock.setTimeout(() => {
        this.fail(new AskTimeoutError(this.target, this.timeoutMs));
      }, this.timeoutMs);
    } catch (error) {
      this.fail(error);
    }
  }

  tell(message: Message): void {
    if (this.settled) {
      this.system?.deadLetter('lateReply', message, this.path);
      return;
    }
    this.finish();
    this.system?.traceReply(this.target, message);
    this.resolve(message);
  }

  trySend<T extends Message>(message: T): TrySendResult<T> {
    this.tell(message);
    return OK;
  }

  send(message: Message): Promise<void> {
    this.tell(message);
    return Promise.resolve();
  }

  ask<Q extends Message>(): Promise<Q> {
    return Promise.reject(new TypeError(`cannot ask ${this.path}: it is the reply ref of an ask`));
  }

  /** Settles with `error` unless already settled. */
  fail(error: unknown): void {
    if (this.settled) return;
    this.finish();
    this.reject(error);
  }

  private finish(): void {
    this.settled = true;
    this.owner.forget(this.n);
    if (this.timer !== undefined) this.system?.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
