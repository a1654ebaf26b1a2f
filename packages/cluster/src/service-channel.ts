import type { NatsConnection } from '@nats-io/nats-core';
import type { Codec, RefCodec } from './codec.js';

/**
 * A subject under the cluster's prefix for one of the cluster's own services (cluster topics,
 * durable topics), on the node's connection, with the node's message codec.
 *
 * @internal
 */
export interface ServiceChannel {
  readonly subject: string;
  /** Publishes on the subject (nothing while the node is disconnected or gone). */
  publish(body: Uint8Array): void;
  /** Subscribes; returns the function that unsubscribes. */
  subscribe(callback: (data: Uint8Array) => void): () => void;
  /** Resolves once the server has every subscription made so far. */
  flush(): Promise<void>;
  encode(value: unknown): Uint8Array | string;
  decode(bytes: Uint8Array): unknown;
}

/** @internal */
export function serviceChannel(
  nc: NatsConnection,
  subject: string,
  codec: Codec,
  refs: RefCodec,
  publish: (subject: string, body: Uint8Array) => void,
): ServiceChannel {
  return {
    subject,
    publish: (body) => publish(subject, body),
    subscribe: (callback) => {
      const sub = nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err === null) callback(msg.data);
        },
      });
      return () => sub.unsubscribe();
    },
    flush: () => nc.flush(),
    encode: (value) => codec.encode(value, refs),
    decode: (bytes) => codec.decode(bytes, refs),
  };
}
