import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { headers, nanos } from '@nats-io/nats-core';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import {
  type ActorContext,
  type Behavior,
  currentTraceContext,
  type Message,
  receive,
  withTraceContext,
} from '@troupe/runtime';
import { DurablePublishError, MessageEncodeError } from './errors.js';
import type { ClusterNode } from './node.js';
import { outgoingTraceparent, parseTraceparent } from './traceparent.js';

/** Retention of a durable topic's stream; each passes through to JetStream, validated. */
export interface DurableTopicOptions {
  /** Events older than this are discarded, in ms (default: kept). */
  readonly maxAgeMs?: number;
  /** At most this many events are kept, oldest discarded first (default: no limit). */
  readonly maxMessages?: number;
  /** At most this many bytes are kept, oldest discarded first (default: no limit). */
  readonly maxBytes?: number;
  /** How long a `publish` may wait for the store's acknowledgement, in ms (default 5000). */
  readonly publishTimeoutMs?: number;
}

/** Where a new durable subscription starts (an existing one resumes where it left off). */
export type DurableStart = 'new' | 'all' | { readonly seq: number } | { readonly time: Date };

/** What a durable subscriber's handler learns about each delivery. */
export interface DeliveryInfo {
  /** The event's sequence number in the stream: the same on every redelivery (dedupe on it). */
  readonly seq: number;
  /** Whether this event was delivered before (and not acknowledged). */
  readonly redelivered: boolean;
  /** How many times it has been delivered, this time included. */
  readonly deliveries: number;
}

/** Options of {@link DurableTopic.subscriber}. */
export interface DurableSubscriberOptions<E extends Message, S> {
  /** The subscription's name: the same name resumes the same position (a JetStream durable consumer). */
  readonly name: string;
  /** Where a new subscription starts; default `'new'`. */
  readonly start?: DurableStart;
  /**
   * Handles one event; the event is acknowledged once this returns (or its promise resolves).
   * A throw or rejection fails the actor (its supervisor decides) and the event is redelivered.
   */
  readonly handle: (
    state: S,
    event: E,
    info: DeliveryInfo,
    ctx: ActorContext<DurableDelivery>,
  ) => S | Promise<S>;
  /** The handler's initial state (per incarnation). */
  readonly initial: S;
  /** At most this many events delivered and not yet acknowledged (JetStream's `max_ack_pending`); default 64. */
  readonly maxAckPending?: number;
  /**
   * Deliveries of one event before it is a poison event: a `failed` dead letter (with its stream
   * sequence) and terminated in JetStream, so it never blocks the subscription. Default 5.
   */
  readonly maxDeliveries?: number;
  /**
   * An event not acknowledged within this many ms of its delivery is redelivered (JetStream's
   * `ack_wait`); default 5,000. While this node is alive it keeps every event it holds (being
   * handled, or waiting in the actor's mailbox) from expiring with in-progress acks every third
   * of it, so a slow handler is never redelivered; it matters only when the node dies: its
   * events come back within this time.
   */
  readonly ackWaitMs?: number;
}

/** What a durable subscriber actor receives (from its own consume loop). */
export interface DurableDelivery {
  readonly type: '$durable.delivery';
  /** @internal */
  readonly msg: JsMsg;
}

/** A topic stored in JetStream. See {@link durableTopic}. */
export interface DurableTopic<E extends Message> {
  readonly name: string;
  /** The JetStream stream behind it. */
  readonly stream: string;
  /**
   * Stores `event` and resolves with its stream sequence once JetStream acknowledged it
   * (`duplicate: true` when an event with the same `id` was already stored: a retried publish is
   * stored once; default id: random). Rejects with `DurablePublishError` when it could not be
   * stored (no server, timeout, a limit), `MessageEncodeError` when it cannot be encoded.
   */
  publish(
    event: E,
    options?: { readonly id?: string },
  ): Promise<{ readonly seq: number; readonly duplicate: boolean }>;
  /**
   * A behaviour for a durable, at-least-once subscriber: spawn it (under a supervisor) where it
   * should run. Each event is handled in order and acknowledged only after the handler
   * succeeded; a failure, a restart, or a crash of the actor or its node leads to redelivery
   * (`info.redelivered`, same `info.seq`). At most `maxAckPending` unacknowledged events.
   */
  subscriber<S>(options: DurableSubscriberOptions<E, S>): Behavior<DurableDelivery>;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** One durable subscriber actor's consume loop and the events it holds, across its restarts. */
interface Loop {
  loop: ConsumerMessages | null;
  stopped: boolean;
  /** Delivered to this node and not yet acknowledged, terminated or nak'd: kept alive while held. */
  readonly held: Set<JsMsg>;
  keepAlive: ReturnType<typeof setInterval> | undefined;
}

/** The consume loop of each durable subscriber actor (by ref), across its restarts. */
const loops = new WeakMap<object, Loop>();

/**
 * Opens (creating if needed) the durable topic `name`: a JetStream stream
 * `TROUPE_<cluster>_<name>` on subject `troupe.<cluster>.durable.<name>`, file storage, with the
 * retention given. Needs a server with JetStream (`nats-server -js`). Throws `TypeError` /
 * `RangeError` naming a bad option; rejects with `DurablePublishError` when JetStream refuses.
 */
export async function durableTopic<E extends Message>(
  node: ClusterNode,
  name: string,
  options: DurableTopicOptions = {},
): Promise<DurableTopic<E>> {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TypeError(
      `durableTopic: name must be 1 to 64 letters, digits, '-' or '_'; got ${String(name).slice(0, 80)}`,
    );
  }
  const limit = (field: keyof DurableTopicOptions, min: number) => {
    const v = options[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new RangeError(`durableTopic: ${field} must be an integer >= ${min}; got ${String(v)}`);
    }
    return v;
  };
  const maxAgeMs = limit('maxAgeMs', 1);
  const maxMessages = limit('maxMessages', 1);
  const maxBytes = limit('maxBytes', 1);
  const publishTimeoutMs = limit('publishTimeoutMs', 1) ?? 5000;
  const stream = `TROUPE_${node.cluster}_${name}`;
  const subject = `troupe.${node.cluster}.durable.${name}`;
  const nc = node.connection;
  const channel = node.channel(`durable.${name}`);
  try {
    const jsm = await jetstreamManager(nc);
    const config = {
      name: stream,
      subjects: [subject],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: maxAgeMs === undefined ? 0 : nanos(maxAgeMs),
      max_msgs: maxMessages ?? -1,
      max_bytes: maxBytes ?? -1,
    };
    try {
      await jsm.streams.info(stream);
      await jsm.streams.update(stream, config);
    } catch {
      await jsm.streams.add(config);
    }
  } catch (error) {
    throw new DurablePublishError(
      name,
      `cannot create its stream: ${(error as Error)?.message ?? String(error)}`,
      {
        cause: error,
      },
    );
  }
  const js = jetstream(nc, { timeout: publishTimeoutMs });

  return {
    name,
    stream,
    async publish(event, publishOptions) {
      if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
        throw new TypeError('durableTopic.publish: an event is an object with a string type');
      }
      let payload: Uint8Array | string;
      try {
        payload = channel.encode(event);
      } catch (error) {
        throw new MessageEncodeError(subject, (error as Error)?.message ?? String(error), { cause: error });
      }
      // With tracing on and a span current, the stored event carries a `traceparent` header.
      const traceparent = outgoingTraceparent(node.system);
      const msgID = publishOptions?.id ?? globalThis.crypto.randomUUID();
      let hdrs: ReturnType<typeof headers> | undefined;
      if (traceparent !== undefined) {
        hdrs = headers();
        hdrs.set('traceparent', traceparent);
      }
      try {
        const ack = await js.publish(
          subject,
          payload,
          hdrs === undefined ? { msgID } : { msgID, headers: hdrs },
        );
        return { seq: ack.seq, duplicate: ack.duplicate };
      } catch (error) {
        throw new DurablePublishError(name, (error as Error)?.message ?? String(error), { cause: error });
      }
    },

    subscriber<S>(sub: DurableSubscriberOptions<E, S>): Behavior<DurableDelivery> {
      if (typeof sub?.name !== 'string' || !NAME.test(sub.name)) {
        throw new TypeError("subscriber: name must be 1 to 64 letters, digits, '-' or '_'");
      }
      if (typeof sub.handle !== 'function') throw new TypeError('subscriber: handle must be a function');
      const maxAckPending = positive('maxAckPending', sub.maxAckPending, 64);
      const maxDeliveries = positive('maxDeliveries', sub.maxDeliveries, 5);
      const ackWaitMs = positive('ackWaitMs', sub.ackWaitMs, 5000);
      const start = sub.start ?? 'new';
      const deliver =
        start === 'new'
          ? { deliver_policy: DeliverPolicy.New }
          : start === 'all'
            ? { deliver_policy: DeliverPolicy.All }
            : 'seq' in start
              ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.seq }
              : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.time.toISOString() };
      const durable = `${sub.name}`;

      interface State {
        user: S;
      }
      /**
       * One consume loop per actor, not per incarnation: the mailbox survives a restart, and so
       * does the loop feeding it (a new loop would leave the old one's pulled and redelivered
       * events stranded until ack_wait). Keyed by the actor's ref, which a restart keeps.
       */
      const startLoop = (ctx: ActorContext<DurableDelivery>) => {
        if (loops.has(ctx.self)) return;
        const entry: Loop = { loop: null, stopped: false, held: new Set(), keepAlive: undefined };
        loops.set(ctx.self, entry);
        // In-progress acks for every event held here, so none expires while this node lives.
        entry.keepAlive = setInterval(
          () => {
            for (const msg of entry.held) msg.working();
          },
          Math.max(50, Math.floor(ackWaitMs / 3)),
        );
        entry.keepAlive.unref();
        void (async () => {
          try {
            const jsm = await jetstreamManager(nc);
            let existing: Awaited<ReturnType<typeof jsm.consumers.info>> | undefined;
            try {
              existing = await jsm.consumers.info(stream, durable);
            } catch {
              await jsm.consumers.add(stream, {
                durable_name: durable,
                ack_policy: AckPolicy.Explicit,
                max_ack_pending: maxAckPending,
                ack_wait: nanos(ackWaitMs),
                ...deliver,
              });
            }
            if (
              existing !== undefined &&
              (existing.config.ack_wait !== nanos(ackWaitMs) ||
                existing.config.max_ack_pending !== maxAckPending)
            ) {
              // Same subscription, new settings: they apply from now on (the position is kept).
              await jsm.consumers.update(stream, durable, {
                ack_wait: nanos(ackWaitMs),
                max_ack_pending: maxAckPending,
              });
            }
            const consumer = await js.consumers.get(stream, durable);
            const loop = await consumer.consume({ max_messages: maxAckPending });
            entry.loop = loop;
            if (entry.stopped) {
              await loop.stop();
              return;
            }
            for await (const msg of loop) {
              if (entry.stopped) break;
              entry.held.add(msg);
              // Waits for room (bounded); an event stored with a traceparent continues its trace.
              const delivery: DurableDelivery = { type: '$durable.delivery', msg };
              const parent = parseTraceparent(msg.headers?.get('traceparent'));
              await (parent === undefined
                ? ctx.self.send(delivery)
                : withTraceContext(parent, () => ctx.self.send(delivery)));
            }
          } catch (error) {
            if (!entry.stopped)
              ctx.log.error({ err: error, stream, durable }, 'durable subscription stopped');
          }
        })();
      };
      const stopLoop = (ctx: ActorContext<DurableDelivery>) => {
        const entry = loops.get(ctx.self);
        loops.delete(ctx.self);
        if (entry === undefined) return;
        entry.stopped = true;
        clearInterval(entry.keepAlive);
        entry.held.clear();
        void entry.loop?.stop();
      };
      /** The event is settled (acknowledged, terminated or nak'd): no longer kept alive here. */
      const settled = (ctx: ActorContext<DurableDelivery>, msg: JsMsg) =>
        loops.get(ctx.self)?.held.delete(msg);

      return receive<State, DurableDelivery>(
        { user: sub.initial },
        async (state, delivery, ctx) => {
          const msg = delivery.msg;
          const deliveries = msg.info.deliveryCount;
          if (node.system.tracing) labelSpan(name, durable, msg.info.streamSequence);
          let event: unknown;
          try {
            event = channel.decode(msg.data);
          } catch (error) {
            ctx.system.log.error({ err: error, seq: msg.seq }, 'durable event did not decode: terminated');
            node.system.deadLetter('invalid', { stream, seq: msg.seq }, ctx.self.path, error);
            settled(ctx, msg);
            msg.term();
            return state;
          }
          if (deliveries > maxDeliveries) {
            node.system.deadLetter(
              'failed',
              { stream, seq: msg.seq, event, deliveries: deliveries - 1 },
              ctx.self.path,
            );
            settled(ctx, msg);
            msg.term();
            return state;
          }
          try {
            state.user = await sub.handle(
              state.user,
              event as E,
              { seq: msg.info.streamSequence, redelivered: msg.redelivered, deliveries },
              ctx,
            );
          } catch (error) {
            settled(ctx, msg);
            msg.nak();
            throw error;
          }
          settled(ctx, msg);
          msg.ack();
          return state;
        },
        {
          onStart: (ctx) => {
            startLoop(ctx);
            return { user: sub.initial };
          },
          onStop: (_state, _reason, ctx) => stopLoop(ctx),
          describe: () => ({ stream, subscription: durable }),
        },
      );
    },
  };
}

/**
 * Names the topic on the span of the delivery being handled (the runtime made it, `handle
 * $durable.delivery`): `messaging.destination.name` and `troupe.topic`, the subscription, and
 * the event's stream sequence. A tracer that throws is the runtime's to report, not ours.
 */
function labelSpan(topic: string, subscription: string, seq: number): void {
  try {
    trace.getSpan(currentTraceContext() ?? ROOT_CONTEXT)?.setAttributes({
      'messaging.destination.name': topic,
      'troupe.topic': topic,
      'troupe.subscription': subscription,
      'troupe.durable.seq': seq,
    });
  } catch {
    // a broken tracer: the event is handled all the same
  }
}

function positive(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`subscriber: ${field} must be an integer >= 1; got ${String(value)}`);
  }
  return value;
}
