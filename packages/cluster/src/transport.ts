import {
  type ActorRef,
  ActorStoppedError,
  type ActorSystem,
  type AskOptions,
  type DeadLetterReason,
  type Message,
  MessageDroppedError,
  type TrySendResult,
  type WaitOptions,
} from '@troupe/runtime';
import type { Codec, RefCodec } from './codec.js';
import { MessageEncodeError, NodeUnreachableError } from './errors.js';
import { ASK, type OutEntry, TELL } from './frame.js';
import type { Peers } from './peers.js';
import type { RemoteRef, RemoteTransport } from './remote-ref.js';
import type { Replies } from './replies.js';
import type { PeerCounters } from './stats.js';
import { outgoingTraceparent } from './traceparent.js';
import type { Watches } from './watches.js';

/** What the remote refs' transport needs from its node. @internal */
export interface TransportHost {
  readonly system: ActorSystem;
  readonly codec: Codec;
  readonly refs: RefCodec;
  readonly peers: Peers;
  readonly replies: Replies;
  readonly watches: Watches;
  readonly linkOverflow: 'block' | 'dropNewest' | 'dropOldest';
  readonly maxMessageBytes: number;
  countersOf(node: string): PeerCounters;
}

/**
 * The operations of remote refs (see {@link RemoteRef} for each one's contract), on the links
 * to their nodes. A ref known to be gone (its actor's `Terminated` came, or its node answered
 * that it is stopped) fails at once here, as a ref to a stopped local actor does.
 *
 * @internal
 */
export function remoteTransport(host: TransportHost): RemoteTransport {
  const { system } = host;
  const counters = (node: string) => host.countersOf(node);

  /** Encodes a message for `ref`; throws `MessageEncodeError` (or `TypeError` for a non-message). */
  const encode = (ref: RemoteRef<Message>, message: unknown): Buffer => {
    if (!isMessage(message)) {
      throw new TypeError(`message to ${ref.address} must be an object with a string "type"`);
    }
    let encoded: Uint8Array | string;
    try {
      encoded = host.codec.encode(message, host.refs);
    } catch (error) {
      throw new MessageEncodeError(
        ref.address,
        `${host.codec.name} codec: ${(error as Error)?.message ?? String(error)}`,
        { cause: error },
      );
    }
    const bytes =
      typeof encoded === 'string'
        ? Buffer.from(encoded, 'utf8')
        : Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    if (bytes.length > host.maxMessageBytes) {
      throw new MessageEncodeError(
        ref.address,
        `${bytes.length} bytes is over maxMessageBytes (${host.maxMessageBytes})`,
      );
    }
    return bytes;
  };

  /** A tell entry; with the sender's traceparent when this system traces and a span is current. */
  const tellEntry = (ref: RemoteRef<Message>, payload: Buffer): OutEntry => {
    const traceparent = outgoingTraceparent(system);
    return traceparent === undefined
      ? [TELL, ref.path, ref.id, payload]
      : [TELL, ref.path, ref.id, payload, traceparent];
  };

  const ask = <R extends Message>(
    ref: RemoteRef<Message>,
    build: (replyTo: ActorRef<R>) => unknown,
    options?: AskOptions,
  ): Promise<R> => {
    const timeoutMs = options?.timeoutMs ?? system.askTimeoutMs;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(
        new RangeError(`ask: timeoutMs must be a finite number >= 0; got ${String(timeoutMs)}`),
      );
    }
    if (ref.gone !== null) return Promise.reject(new ActorStoppedError(ref.address));
    if (typeof build !== 'function') return Promise.reject(new TypeError('ask: build must be a function'));
    const peer = host.peers.upPeer(ref.node);
    if (peer === undefined) {
      counters(ref.node).undeliverable++;
      return Promise.reject(new NodeUnreachableError(ref.node, ref.address));
    }
    const { ref: reply, promise } = host.replies.ask<R>(ref.address, ref.node, timeoutMs);
    try {
      const message = build(reply as unknown as ActorRef<R>);
      const payload = encode(ref, message);
      const traceparent = outgoingTraceparent(system);
      const ms = Math.min(Math.ceil(timeoutMs), Number.MAX_SAFE_INTEGER);
      const entry: OutEntry =
        traceparent === undefined
          ? [ASK, ref.path, ref.id, payload, reply.n, ms]
          : [ASK, ref.path, ref.id, payload, reply.n, ms, traceparent];
      if (!peer.link.offerTell(entry)) {
        counters(ref.node).undeliverable++;
        reply.fail(new MessageDroppedError(ref.address));
      }
    } catch (error) {
      reply.fail(error);
    }
    return promise;
  };

  return {
    tell: (ref, message) => {
      if (ref.gone !== null) {
        system.deadLetter(isMessage(message) ? 'stopped' : 'invalid', message, ref.address);
        return;
      }
      const peer = host.peers.upPeer(ref.node);
      if (peer === undefined) {
        counters(ref.node).undeliverable++;
        system.deadLetter(isMessage(message) ? 'unreachable' : 'invalid', message, ref.address);
        return;
      }
      let payload: Buffer;
      try {
        payload = encode(ref, message);
      } catch (error) {
        counters(ref.node).undeliverable++;
        system.deadLetter('invalid', message, ref.address, error);
        return;
      }
      if (!peer.link.offerTell(tellEntry(ref, payload))) {
        counters(ref.node).undeliverable++;
        const reason: DeadLetterReason = host.linkOverflow === 'dropNewest' ? 'dropped' : 'mailboxFull';
        system.deadLetter(reason, message, ref.address);
      }
    },
    trySend: (ref, message) => {
      const payload = encode(ref, message); // throws: misuse, as for a local trySend
      if (ref.gone !== null) return { ok: false, reason: 'closed', value: message } as TrySendResult<unknown>;
      const peer = host.peers.upPeer(ref.node);
      if (peer === undefined)
        return { ok: false, reason: 'closed', value: message } as TrySendResult<unknown>;
      if (peer.link.offerTell(tellEntry(ref, payload))) return { ok: true };
      if (host.linkOverflow === 'dropNewest') {
        counters(ref.node).undeliverable++;
        system.deadLetter('dropped', message, ref.address);
        return { ok: false, reason: 'dropped' } as TrySendResult<unknown>;
      }
      return { ok: false, reason: 'full', value: message } as TrySendResult<unknown>;
    },
    send: async (ref, message, options?: WaitOptions) => {
      const payload = encode(ref, message);
      if (ref.gone !== null) throw new ActorStoppedError(ref.address);
      const peer = host.peers.upPeer(ref.node);
      if (peer === undefined) {
        counters(ref.node).undeliverable++;
        throw new NodeUnreachableError(ref.node, ref.address);
      }
      const traceparent = outgoingTraceparent(system);
      await peer.link.send(ref.path, ref.id, payload, ref.address, options?.signal, traceparent);
    },
    ask,
    watch: (ref, watcher) => {
      if (ref.gone !== null) {
        watcher.terminated(ref.gone);
        return;
      }
      host.watches.watch(ref, watcher);
    },
    unwatch: (ref, watcher) => host.watches.unwatch(ref, watcher),
  };
}

function isMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return typeof (value as { type?: unknown }).type === 'string';
  } catch {
    return false;
  }
}
