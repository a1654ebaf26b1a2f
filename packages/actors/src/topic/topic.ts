import { type ActorContext, type ActorRef, type Behavior, type Message, receive } from '@troupe/runtime';

/**
 * Told to a subscriber (with `onFull: 'lag'`) when it has room again after it missed events
 * because its mailbox was full: `missed` counts the events it missed since the previous notice
 * (tokio broadcast's `Lagged(n)`, as a message its machine can handle).
 */
export interface Lagged {
  readonly type: 'Lagged';
  readonly missed: number;
  /** Path of the topic. */
  readonly topic: string;
}

/**
 * What a topic does for a subscriber whose mailbox is full:
 * - `'lag'` (default): never waits; counts what the subscriber missed and tells it
 *   `Lagged { missed }` when it has room again (tried at each publish, and every 10 ms on the
 *   system clock while a notice is owed). Other subscribers are never slowed.
 * - `'block'`: waits for room (the topic takes no further message meanwhile), which
 *   backpressures publishers that `await topic.send(event)` through the topic's own mailbox.
 * - `'drop'`: drops and counts, with no notice.
 */
export type OnFull = 'lag' | 'block' | 'drop';

/** Which events a subscriber gets: a predicate, or a list of event `type`s (the seeds' `interested_in`). */
export type TopicFilter<E extends Message> = ((event: E) => boolean) | readonly E['type'][];

export interface SubscribeOptions<E extends Message> {
  /** Default: every event. */
  readonly filter?: TopicFilter<E>;
  /** Default `'lag'`. */
  readonly onFull?: OnFull;
}

/** One subscription's counters: for every matching event published while subscribed, `delivered + missed` is 1. */
export interface SubscriptionStats {
  readonly subscriber: string;
  readonly onFull: OnFull;
  readonly delivered: number;
  readonly missed: number;
}

export interface TopicStats {
  readonly type: 'TopicStats';
  readonly published: number;
  readonly subscriptions: readonly SubscriptionStats[];
}

/** The reply to a subscribe or unsubscribe request: it has been applied. */
export interface TopicAck {
  readonly type: 'TopicAck';
}

/** The control messages of a topic. Their types start with `$topic.`: events must not. */
export type TopicControl<E extends Message> =
  | {
      readonly type: '$topic.subscribe';
      readonly subscriber: ActorRef<E | Lagged>;
      readonly options: SubscribeOptions<E>;
      readonly replyTo?: ActorRef<TopicAck>;
    }
  | {
      readonly type: '$topic.unsubscribe';
      readonly subscriber: ActorRef<E | Lagged>;
      readonly replyTo?: ActorRef<TopicAck>;
    }
  | { readonly type: '$topic.stats'; readonly replyTo: ActorRef<TopicStats> }
  /** Internal: the topic's own timer, retrying owed `Lagged` notices. */
  | { readonly type: '$topic.retryLagged' };

/** What a topic accepts: events of `E` (each one is published) and control messages. */
export type TopicMessage<E extends Message> = E | TopicControl<E>;

const ON_FULL: readonly string[] = ['lag', 'block', 'drop'];
const ACK: TopicAck = Object.freeze({ type: 'TopicAck' });

class Subscription<E extends Message> {
  delivered = 0;
  missed = 0;
  /** Missed since the last `Lagged` notice. */
  unreported = 0;

  constructor(
    readonly ref: ActorRef<E | Lagged>,
    readonly types: ReadonlySet<string> | null,
    readonly accepts: ((event: E) => boolean) | null,
    readonly onFull: OnFull,
  ) {}

  matches(event: E): boolean {
    if (this.types !== null) return this.types.has(event.type);
    return this.accepts === null || this.accepts(event);
  }

  stats(): SubscriptionStats {
    return { subscriber: this.ref.path, onFull: this.onFull, delivered: this.delivered, missed: this.missed };
  }
}

interface TopicState<E extends Message> {
  published: number;
  subscriptions: Subscription<E>[];
}

/**
 * A pub-sub topic actor: every event told (or sent) to it is delivered to the mailbox of every
 * subscriber whose filter matches, in publish order, as the same frozen object (no copy per
 * subscriber). Subscribers that stop are unsubscribed automatically (death watch).
 *
 * **Slow subscribers** are handled per subscription by `onFull` (see {@link OnFull}).
 * **Accounting.** Per subscription, for every matching event published while subscribed,
 * exactly one of `delivered` or `missed` grows (a subscriber's own dropping mailbox policy
 * counts as missed). `Lagged` notices are not events and are not counted.
 * **Events** are frozen (`Object.freeze`) on publish, so subscribers cannot change what others
 * see. Event types must not start with `$topic.`.
 * **Inspect** it with {@link Topic.stats} or in `system.tree()` (the node's `details`).
 */
export function topic<E extends Message>(): Behavior<TopicMessage<E>> {
  return receive<TopicState<E>, TopicMessage<E>>(
    { published: 0, subscriptions: [] },
    (state, message, ctx) => {
      if (message.type.startsWith('$topic.')) control(state, message as TopicControl<E>, ctx);
      else publish(state, message as E, ctx);
      return state;
    },
    {
      onStart: () => ({ published: 0, subscriptions: [] }),
      onTerminated: (state, signal) => {
        remove(state, signal.ref);
        return state;
      },
      describe: (state) => describe(state),
    },
  );
}

function publish<E extends Message>(
  state: TopicState<E>,
  event: E,
  ctx: ActorContext<TopicMessage<E>>,
): void {
  state.published++;
  Object.freeze(event);
  const subscriptions = state.subscriptions;
  for (let i = 0; i < subscriptions.length; i++) {
    const sub = subscriptions[i] as Subscription<E>;
    if (!sub.matches(event)) continue;
    if (sub.unreported > 0 && !notify(sub, ctx)) {
      sub.missed++;
      sub.unreported++;
      armLagRetry(ctx);
      continue;
    }
    const r = sub.ref.trySend(event);
    if (r.ok) {
      sub.delivered++;
    } else if (r.reason === 'full' && sub.onFull === 'block') {
      sub.delivered++; // queued once there is room; the topic waits for it before its next message
      ctx.send(sub.ref, event);
    } else if (r.reason !== 'closed') {
      sub.missed++;
      if (sub.onFull === 'lag') {
        sub.unreported++;
        armLagRetry(ctx);
      }
    }
    // 'closed': the subscriber stopped; its Terminated removes the subscription.
  }
}

/** How often the topic retries owed `Lagged` notices while publishing is quiet. */
const LAG_RETRY_MS = 10;

function armLagRetry<E extends Message>(ctx: ActorContext<TopicMessage<E>>): void {
  if (!ctx.timers.isActive('lagged'))
    ctx.timers.startSingle('lagged', { type: '$topic.retryLagged' }, LAG_RETRY_MS);
}

/** Tells a lagging subscriber how much it missed; false if there is still no room. */
function notify<E extends Message>(sub: Subscription<E>, ctx: ActorContext<TopicMessage<E>>): boolean {
  const r = sub.ref.trySend({ type: 'Lagged', missed: sub.unreported, topic: ctx.self.path });
  if (!r.ok) return false;
  sub.unreported = 0;
  return true;
}

function control<E extends Message>(
  state: TopicState<E>,
  m: TopicControl<E>,
  ctx: ActorContext<TopicMessage<E>>,
): void {
  switch (m.type) {
    case '$topic.subscribe': {
      const options = (m.options ?? {}) as SubscribeOptions<E>;
      const { filter, onFull = 'lag' } = options;
      const validFilter = filter === undefined || typeof filter === 'function' || Array.isArray(filter);
      if (!isRef(m.subscriber) || !ON_FULL.includes(onFull) || !validFilter) {
        ctx.unhandled(); // a malformed request (from untyped code): a dead letter, not a crash
        return;
      }
      const types = Array.isArray(filter) ? new Set<string>(filter) : null;
      const accepts = typeof filter === 'function' ? filter : null;
      remove(state, m.subscriber);
      state.subscriptions.push(new Subscription(m.subscriber, types, accepts, onFull));
      ctx.watch(m.subscriber);
      if (isRef(m.replyTo)) ctx.reply(m.replyTo, ACK);
      return;
    }
    case '$topic.unsubscribe':
      if (!isRef(m.subscriber)) {
        ctx.unhandled();
        return;
      }
      remove(state, m.subscriber);
      ctx.unwatch(m.subscriber);
      if (isRef(m.replyTo)) ctx.reply(m.replyTo, ACK);
      return;
    case '$topic.stats':
      if (isRef(m.replyTo)) ctx.reply(m.replyTo, describe(state));
      else ctx.unhandled();
      return;
    case '$topic.retryLagged': {
      let owed = false;
      for (const sub of state.subscriptions) {
        if (sub.unreported > 0 && !notify(sub, ctx)) owed = true;
      }
      if (owed) armLagRetry(ctx);
      return;
    }
    default:
      ctx.unhandled(); // an unknown $topic.* type
  }
}

/** Whether `value` looks like an actor ref (untyped callers can send anything). */
function isRef(value: unknown): value is ActorRef<Message> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { path?: unknown }).path === 'string' &&
    typeof (value as { tell?: unknown }).tell === 'function'
  );
}

function remove<E extends Message>(state: TopicState<E>, ref: { readonly id: string }): void {
  const at = state.subscriptions.findIndex((s) => s.ref === ref);
  if (at >= 0) state.subscriptions.splice(at, 1);
}

function describe<E extends Message>(state: TopicState<E>): TopicStats {
  return {
    type: 'TopicStats',
    published: state.published,
    subscriptions: state.subscriptions.map((s) => s.stats()),
  };
}

/**
 * Client functions for a topic. `subscribe`/`unsubscribe` resolve once the topic has applied
 * them (they are asks), so a publish that follows is seen — or not — for sure.
 */
export const Topic = {
  /**
   * Subscribes `subscriber` (replacing an earlier subscription of the same ref). Rejects with
   * `TypeError` for a bad filter or `onFull`, checked here before anything is sent.
   */
  async subscribe<E extends Message>(
    topicRef: ActorRef<TopicMessage<E>>,
    subscriber: ActorRef<NoInfer<E> | Lagged> | ActorRef<NoInfer<E>>,
    options: SubscribeOptions<NoInfer<E>> = {},
  ): Promise<void> {
    const { filter, onFull } = options;
    if (onFull !== undefined && !ON_FULL.includes(onFull)) {
      throw new TypeError(`onFull must be 'lag', 'block' or 'drop'; got ${String(onFull)}`);
    }
    if (filter !== undefined && typeof filter !== 'function' && !Array.isArray(filter)) {
      throw new TypeError('filter must be a predicate or an array of event types');
    }
    await topicRef.ask<TopicAck>((replyTo) => ({
      type: '$topic.subscribe',
      subscriber: subscriber as ActorRef<E | Lagged>,
      options,
      replyTo,
    }));
  },
  async unsubscribe<E extends Message>(
    topicRef: ActorRef<TopicMessage<E>>,
    subscriber: ActorRef<NoInfer<E> | Lagged> | ActorRef<NoInfer<E>>,
  ): Promise<void> {
    await topicRef.ask<TopicAck>((replyTo) => ({
      type: '$topic.unsubscribe',
      subscriber: subscriber as ActorRef<E | Lagged>,
      replyTo,
    }));
  },
  /**
   * Publishes without waiting (a `tell`; `await topicRef.send(event)` waits for room instead).
   * Throws `TypeError` for an event whose type starts with `$topic.` (reserved for control).
   */
  publish<E extends Message>(topicRef: ActorRef<TopicMessage<E>>, event: NoInfer<E>): void {
    const type = (event as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && type.startsWith('$topic.')) {
      throw new TypeError(`event types must not start with $topic. (reserved for control); got ${type}`);
    }
    topicRef.tell(event);
  },
  /** The topic's counters: events published, and per subscription delivered / missed. */
  stats<E extends Message>(topicRef: ActorRef<TopicMessage<E>>): Promise<TopicStats> {
    return topicRef.ask<TopicStats>((replyTo) => ({ type: '$topic.stats', replyTo }));
  },
};
