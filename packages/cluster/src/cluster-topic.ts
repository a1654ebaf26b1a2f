import type { Context } from '@opentelemetry/api';
import { type Lagged, type SubscribeOptions, Topic, type TopicMessage, topic } from '@troupe/actors';
import { type ActorRef, type Message, mpsc, withoutTracing, withTraceContext } from '@troupe/runtime';
import { MessageEncodeError } from './errors.js';
import type { ClusterNode } from './node.js';
import { outgoingTraceparent, parseTraceparent } from './traceparent.js';

/** What `ClusterTopic.stats()` counts on this node. */
export interface ClusterTopicStats {
  /** Events this node published. */
  readonly published: number;
  /** Events that arrived here from any node (this one included) and went to the local topic. */
  readonly received: number;
  /**
   * Events published by some node that never arrived here (gaps in that publisher's sequence
   * numbers: a broker restart, a cut connection); each gap was told to every local subscriber
   * as `Lagged { missed }`.
   */
  readonly lost: number;
  /** Messages on the topic's subject that were not events of this topic (each an invalid dead letter). */
  readonly invalid: number;
  /**
   * Events that arrived but found the local topic's mailbox and this node's backlog
   * (65,536 events) full: each a `mailboxFull` dead letter.
   */
  readonly dropped: number;
}

/** A topic that spans the cluster, as one node sees it. See {@link clusterTopic}. */
export interface ClusterTopic<E extends Message> {
  readonly name: string;
  /**
   * This node's local topic, which fans events out here: filters, `lag` / `block` / `drop`,
   * `Lagged`, per-subscription counters (`Topic.stats(local)`), automatic unsubscribe when a
   * subscriber stops, exactly as for a local topic.
   */
  readonly local: ActorRef<TopicMessage<E>>;
  /**
   * Subscribes a local actor (as `Topic.subscribe(local, …)`, same options and errors) and
   * resolves once this node receives the topic's events. (A `Topic.subscribe(local, …)` made
   * directly is noticed within about a second.)
   */
  subscribe(
    subscriber: ActorRef<NoInfer<E> | Lagged> | ActorRef<NoInfer<E>>,
    options?: SubscribeOptions<NoInfer<E>>,
  ): Promise<void>;
  /** Unsubscribes; with no subscriber left this node stops receiving the topic's events. */
  unsubscribe(subscriber: ActorRef<NoInfer<E> | Lagged> | ActorRef<NoInfer<E>>): Promise<void>;
  /**
   * Publishes to every node's subscribers: one NATS message per event, which NATS delivers once
   * to each node that has this topic; each node fans it out locally. At most once, ordered per
   * publishing node. Throws `MessageEncodeError` (or `TypeError` for a non-message) for what
   * the codec cannot encode. An event published while this node's NATS connection is down is
   * not sent (it is counted in `published`); every node's subscribers are told of it as
   * `Lagged` when this node publishes again, or by its next beacon (within about a second). For events that must not be lost, use a durable topic.
   */
  publish(event: E): void;
  stats(): ClusterTopicStats;
  /** Stops receiving and stops the local topic. */
  close(): Promise<void>;
}

const MAGIC = 0x50; // 'P'
const MAX_BACKLOG = 65_536;
const BEACON = 0x51; // 'Q': a publisher's "published up to" notice, no payload
const BEACON_MS = 1000;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Opens the cluster topic `name` on this node (Proto.Actor's lesson: one NATS message per event
 * per node that has subscribers, never one per subscriber). Subscribers live on any node and
 * subscribe through their own node's `ClusterTopic.subscribe`; publishers on any node call
 * `publish`. A node that dies takes its subscriptions with it; a node that subscribes sees the
 * events published from then on.
 *
 * Accounting: for each local subscription, `delivered + missed = matched`, where matched counts
 * the events that reached this node while it was subscribed and passed its filter; events that
 * did not reach this node (published while it was disconnected) are detected from each
 * publisher's sequence numbers and told to every local subscriber as `Lagged { missed }`, and
 * counted in `stats().lost`. A gap at the very end of a publisher's stream (nothing published
 * after it) is found within about a second, from the beacon each publishing node sends every
 * second.
 */
export async function clusterTopic<E extends Message>(
  node: ClusterNode,
  name: string,
): Promise<ClusterTopic<E>> {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TypeError(
      `clusterTopic: name must be 1 to 64 letters, digits, '-' or '_'; got ${String(name).slice(0, 80)}`,
    );
  }
  const system = node.system;
  const local = system.spawn(topic<E>(), { name: `topic-${name}` });
  const channel = node.channel(`topic.${name}`);
  const next = new Map<string, number>();
  let seq = 0;
  const stats = { published: 0, received: 0, lost: 0, invalid: 0, dropped: 0 };
  const header = `${node.name}|${node.incarnation}`;

  // The topic's own protocol (its stats polls, the Lagged notices a gap causes) is control
  // traffic: never traced, so traces show only events.
  const lagged = (missed: number) => {
    const notice: Lagged = { type: 'Lagged', missed, topic: local.path };
    withoutTracing(() => Topic.stats(local)).then(
      (s) => {
        withoutTracing(() => {
          for (const sub of s.subscriptions) system.lookup(sub.subscriber)?.tell(notice as never);
        });
      },
      () => {},
    );
  };

  // A burst from the wire (nats.js hands a whole socket read to its callbacks at once) waits
  // here for room in the local topic's mailbox, in order, instead of overflowing it.
  // (An event published with a trace context keeps it here: [event, remote parent].)
  type Held = TopicMessage<E> | readonly [TopicMessage<E>, Context];
  const [held, backlog] = mpsc<Held>(MAX_BACKLOG, { overflow: 'block' });
  let draining = false;
  const drain = async () => {
    draining = true;
    for (let next = backlog.tryRecv(); next.ok; next = backlog.tryRecv()) {
      const value = next.value;
      try {
        if (Array.isArray(value)) {
          const [event, parent] = value as readonly [TopicMessage<E>, Context];
          await withTraceContext(parent, () => local.send(event));
        } else await local.send(value as TopicMessage<E>);
      } catch {
        stats.dropped += 1 + backlog.length; // the local topic stopped
        while (backlog.tryRecv().ok) {}
      }
    }
    draining = false;
  };
  const deliver = (event: TopicMessage<E>, parent: Context | undefined) => {
    if (!draining) {
      const r =
        parent === undefined ? local.trySend(event) : withTraceContext(parent, () => local.trySend(event));
      if (r.ok) return;
    }
    if (!held.trySend(parent === undefined ? event : [event, parent]).ok) {
      stats.dropped++;
      system.deadLetter('mailboxFull', event, local.path);
      return;
    }
    if (!draining) void drain();
  };

  /** A publisher said it has published up to (not including) `s`: what never came is lost. */
  const beacon = (from: string, s: number) => {
    const expected = next.get(from);
    if (expected !== undefined && s > expected) {
      stats.lost += s - expected;
      lagged(s - expected);
    }
    if (expected === undefined || s > expected) next.set(from, s);
  };

  const onData = (data: Uint8Array) => {
    let from: string;
    let s: number;
    let event: unknown;
    let parent: Context | undefined;
    try {
      if (data.length < 5 || (data[0] !== MAGIC && data[0] !== BEACON))
        throw new TypeError('not a topic event');
      const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const len = view.readUInt32BE(1);
      if (5 + len > view.length || len > 256) throw new TypeError('bad topic event header');
      const [f, n, tp] = view.toString('utf8', 5, 5 + len).split('#');
      s = Number(n);
      parent = parseTraceparent(tp); // absent or not a valid traceparent: none
      if (f === undefined || f.length > 160 || !Number.isSafeInteger(s) || s < 0)
        throw new TypeError('bad topic event header');
      from = f;
      if (data[0] === BEACON) {
        if (5 + len !== view.length) throw new TypeError('bad topic beacon');
        beacon(from, s);
        return;
      }
      event = channel.decode(view.subarray(5 + len));
      if (typeof event !== 'object' || event === null || typeof (event as Message).type !== 'string') {
        throw new TypeError('a topic event must be a message');
      }
    } catch (error) {
      stats.invalid++;
      node.invalidInput(channel.subject, data, error);
      return;
    }
    const expected = next.get(from) ?? s; // a publisher first heard mid-stream starts where we joined
    if (s < expected) {
      stats.invalid++;
      node.invalidInput(channel.subject, data, new TypeError('replayed topic event'));
      return;
    }
    if (s > expected) {
      stats.lost += s - expected;
      lagged(s - expected);
    }
    next.set(from, s + 1);
    stats.received++;
    deliver(event as TopicMessage<E>, parent);
  };

  /**
   * This node receives the topic's events only while its local topic has subscribers (so a
   * node without any costs the publishers nothing). Each time it starts receiving again it
   * starts fresh: it sees what is published from then on, and no gap from before.
   */
  let unsubscribe: (() => void) | null = null;
  const receiving = async (wanted: boolean) => {
    if (wanted && unsubscribe === null) {
      next.clear();
      unsubscribe = channel.subscribe(onData);
      await channel.flush(); // resolves once the server routes this topic's events here
    } else if (!wanted && unsubscribe !== null) {
      unsubscribe();
      unsubscribe = null;
    }
  };
  /** Subscriptions made with `Topic.subscribe(local, …)` directly, or ended by a subscriber stopping. */
  const reconcile = () =>
    withoutTracing(() => Topic.stats(local)).then(
      (s) => receiving(s.subscriptions.length > 0),
      () => {},
    );

  // Every second, a node that has published on this topic says how far it got (one small
  // message), so a gap at the very end of its stream (nothing published after it) is found
  // too, also by a node that was itself disconnected when the events went out.
  const beaconTimer = setInterval(() => {
    void reconcile();
    if (seq === 0 || !node.connected) return;
    const head = Buffer.from(`${header}#${seq}`);
    const out = Buffer.allocUnsafe(5 + head.length);
    out[0] = BEACON;
    out.writeUInt32BE(head.length, 1);
    head.copy(out, 5);
    channel.publish(out);
  }, BEACON_MS);
  beaconTimer.unref();

  return {
    name,
    local,
    publish(event: E) {
      if (
        typeof event !== 'object' ||
        event === null ||
        typeof event.type !== 'string' ||
        event.type.startsWith('$topic.')
      ) {
        throw new TypeError(
          'clusterTopic.publish: an event is an object with a string type not starting with $topic.',
        );
      }
      let payload: Uint8Array | string;
      try {
        payload = channel.encode(event);
      } catch (error) {
        throw new MessageEncodeError(channel.subject, (error as Error)?.message ?? String(error), {
          cause: error,
        });
      }
      // With tracing on and a span current, the header carries its traceparent: `from#seq#tp`.
      const traceparent = outgoingTraceparent(system);
      const head = Buffer.from(
        traceparent === undefined ? `${header}#${seq++}` : `${header}#${seq++}#${traceparent}`,
      );
      const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
      const out = Buffer.allocUnsafe(5 + head.length + body.length);
      out[0] = MAGIC;
      out.writeUInt32BE(head.length, 1);
      head.copy(out, 5);
      body.copy(out, 5 + head.length);
      channel.publish(out);
      stats.published++;
    },
    async subscribe(subscriber, options) {
      await Topic.subscribe(local, subscriber, options);
      await receiving(true);
    },
    async unsubscribe(subscriber) {
      await Topic.unsubscribe(local, subscriber);
      await reconcile();
    },
    stats: () => ({ ...stats }),
    async close() {
      clearInterval(beaconTimer);
      await receiving(false);
      await system.stop(local);
    },
  };
}
