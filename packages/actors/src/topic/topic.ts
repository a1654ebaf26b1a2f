import {
  type ActorContext,
  type ActorRef,
  type Behavior,
  type Message,
  receive,
  type SystemEvent,
} from '@troupe/runtime';
import { deadLetterFailed, isRef, tellGuarded } from '../failed-message.js';
import type { SelfSubscriptionError } from './self-subscription-error.js';

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
  /**
   * Default: every event. A predicate that throws fails that event's delivery to this
   * subscriber only: a `failed` dead letter (the event, addressed to the subscriber, carrying
   * the error), counted in `missed` and `filterErrors`; the other subscribers get the event and
   * the subscription stays.
   */
  readonly filter?: TopicFilter<E>;
  /** Default `'lag'`. */
  readonly onFull?: OnFull;
}

/**
 * One subscription's counters. `matched` counts the events published while subscribed that
 * passed its filter; each of them is either `delivered` (queued in the subscriber's mailbox) or
 * `missed` (its mailbox was full, closed, or its filter threw), so `delivered + missed = matched`.
 * `filterErrors` counts the events whose filter threw (they are in `missed`, and each is a
 * `failed` dead letter addressed to the subscriber). For a subscriber
 * whose mailbox evicts (`dropOldest` / `latest`), an event evicted after delivery moves from
 * `delivered` to `missed` (the one case where `delivered` goes down).
 */
export interface SubscriptionStats {
  readonly subscriber: string;
  readonly onFull: OnFull;
  readonly matched: number;
  readonly delivered: number;
  readonly missed: number;
  readonly filterErrors: number;
}

export interface TopicStats {
  readonly type: 'TopicStats';
  readonly published: number;
  readonly subscriptions: readonly SubscriptionStats[];
}

/** The reply to a subscribe or unsubscribe request: applied, or refused with why (`error`). */
export interface TopicAck {
  readonly type: 'TopicAck';
  /**
   * Set when the request was refused: the subscriber is stopped, is not an actor of this
   * system, or is the topic itself (`'self'`: see {@link SelfSubscriptionError}).
   */
  readonly error?: 'stopped' | 'notAnActor' | 'self';
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

/** Live topics of this process (their refs survive restarts): lets `Topic.subscribe` refuse a non-topic at once. */
const topics = new WeakSet<object>();

/** Whether `ref` is (the ref of) a topic of this process, also a stopped one. Internal. */
export function isTopic(ref: unknown): boolean {
  return typeof ref === 'object' && ref !== null && topics.has(ref);
}

/** Each topic's subscriptions, kept across its restarts (the ref stays the same: restarts are in place). */
const tables = new WeakMap<object, TopicState<Message>>();

/** What a topic accepts: events of `E` (each one is published) and control messages. */
export type TopicMessage<E extends Message> = E | TopicControl<E>;

/** The valid `onFull` values. Internal. */
export const ON_FULL: readonly string[] = ['lag', 'block', 'drop'];
const ACK: TopicAck = Object.freeze({ type: 'TopicAck' });

class Subscription<E extends Message> {
  matched = 0;
  delivered = 0;
  missed = 0;
  filterErrors = 0;
  /** Missed since the last `Lagged` notice. */
  unreported = 0;

  constructor(
    readonly ref: ActorRef<E | Lagged>,
    public types: ReadonlySet<string> | null,
    public accepts: ((event: E) => boolean) | null,
    public onFull: OnFull,
    /** The subscriber's mailbox may evict delivered events (dropOldest / latest). */
    public evicting: boolean,
  ) {}

  /**
   * Whether `event` passes the filter. A filter that throws fails this delivery only: the
   * event counts as matched and missed, and is a `failed` dead letter for the subscriber.
   */
  matches(event: E, ctx: ActorContext<TopicMessage<E>>): boolean {
    if (this.types !== null) return this.types.has(event.type);
    if (this.accepts === null) return true;
    try {
      return this.accepts(event) === true;
    } catch (error) {
      this.matched++;
      this.missed++;
      if (this.filterErrors++ === 0) {
        ctx.log.warn(
          { err: error, subscriber: this.ref.path },
          'topic filter threw: the event counts as missed and is a failed dead letter',
        );
      }
      deadLetterFailed(ctx, event, this.ref.path, error);
      return false;
    }
  }

  stats(): SubscriptionStats {
    return {
      subscriber: this.ref.path,
      onFull: this.onFull,
      matched: this.matched,
      delivered: this.delivered,
      missed: this.missed,
      filterErrors: this.filterErrors,
    };
  }
}

interface TopicState<E extends Message> {
  published: number;
  subscriptions: Subscription<E>[];
  /** Owed Lagged notices keep failing: the retry delay doubles up to LAG_RETRY_MAX_MS. */
  retryMs: number;
  /** Events delivered to evicting subscribers (only while one exists), to see them evicted. */
  delivered: WeakSet<object> | null;
  /** Unsubscribes the eviction listener from system.events. */
  stopListening: (() => void) | null;
}

function freshState<E extends Message>(): TopicState<E> {
  return { published: 0, subscriptions: [], retryMs: LAG_RETRY_MS, delivered: null, stopListening: null };
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
 * see (an event that cannot be frozen, e.g. a proxy that refuses, is a `failed` dead letter of
 * the topic, published to no one). Event types must not start with `$topic.`.
 * **Callbacks that throw** fail one delivery, never the topic: see `filter` in
 * {@link SubscribeOptions}; a `replyTo` whose `tell` throws makes that reply a `failed` dead letter.
 * **Loops.** A topic refuses to subscribe itself ({@link SelfSubscriptionError}). A loop through
 * other actors (a subscriber that republishes what it gets to the same topic, or two topics
 * subscribed to each other) cannot be told from a pipeline and is not refused; it stays bounded
 * by the mailboxes on the way and shows in the counters (the package README, "Loops").
 * **Inspect** it with {@link Topic.stats} or in `system.tree()` (the node's `details`).
 */
export function topic<E extends Message>(): Behavior<TopicMessage<E>> {
  return receive<TopicState<E>, TopicMessage<E>>(
    freshState<E>(),
    (state, message, ctx) => {
      if (message.type.startsWith('$topic.')) {
        control(state, message as TopicControl<E>, ctx);
        return state;
      }
      const waits = publish(state, message as E, ctx);
      // onFull 'block': the topic takes its next message once every waiting delivery is settled.
      return waits === null ? state : Promise.all(waits).then(() => state);
    },
    {
      onStart: (ctx) => {
        topics.add(ctx.self);
        // A restart (in place: same ref) keeps the subscriptions and their counters.
        const kept = tables.get(ctx.self) as TopicState<E> | undefined;
        const state = kept ?? freshState<E>();
        tables.set(ctx.self, state as unknown as TopicState<Message>);
        for (const sub of state.subscriptions) ctx.watch(sub.ref);
        if (kept !== undefined) {
          state.stopListening = null;
          if (state.subscriptions.some((s) => s.evicting)) listenForEvictions(state, ctx);
          if (state.subscriptions.some((s) => s.unreported > 0)) armLagRetry(state, ctx);
        }
        return state;
      },
      onRestart: (state) => {
        state.stopListening?.();
      },
      onStop: (state, _reason, ctx) => {
        state.stopListening?.();
        tables.delete(ctx.self); // stays in `topics`: a stopped topic's ref still names a topic
      },
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
): Promise<void>[] | null {
  try {
    Object.freeze(event);
  } catch (error) {
    // A proxy can refuse (so can a typed array with elements): published to no one, rather
    // than a failure of the topic.
    deadLetterFailed(ctx, event, ctx.self.path, error);
    return null;
  }
  state.published++;
  const subscriptions = state.subscriptions;
  let waits: Promise<void>[] | null = null;
  for (let i = 0; i < subscriptions.length; i++) {
    const sub = subscriptions[i] as Subscription<E>;
    if (!sub.matches(event, ctx)) continue;
    sub.matched++;
    if (sub.unreported > 0 && !notify(sub, ctx)) {
      sub.missed++;
      sub.unreported++;
      armLagRetry(state, ctx);
      continue;
    }
    const r = sub.ref.trySend(event);
    if (r.ok) {
      sub.delivered++;
      if (sub.evicting) state.delivered?.add(event);
    } else if (r.reason === 'full' && sub.onFull === 'block') {
      // Queued once there is room; the topic waits for it before its next message. If the
      // subscriber stops meanwhile, the event is missed and a dead letter instead.
      sub.delivered++;
      waits ??= [];
      waits.push(
        sub.ref.send(event).catch(() => {
          sub.delivered--;
          sub.missed++;
          sub.ref.tell(event);
        }),
      );
    } else if (r.reason === 'closed') {
      // The subscriber is stopping or stopped (its Terminated will remove the subscription):
      // missed, and a dead letter (`stopped`) addressed to it, so it is never silent.
      sub.missed++;
      sub.ref.tell(event);
    } else {
      sub.missed++;
      if (sub.onFull === 'lag') {
        sub.unreported++;
        armLagRetry(state, ctx);
      }
    }
  }
  return waits;
}

/**
 * A subscriber whose mailbox evicts can lose an event after it was delivered; the runtime
 * reports each eviction as a `dropped` dead letter. Only while such a subscription exists, the
 * topic listens for them and moves an evicted event of its own from delivered to missed.
 */
function listenForEvictions<E extends Message>(
  state: TopicState<E>,
  ctx: ActorContext<TopicMessage<E>>,
): void {
  if (state.stopListening !== null) return;
  state.delivered ??= new WeakSet();
  const delivered = state.delivered;
  state.stopListening = ctx.system.events.subscribe((event: SystemEvent) => {
    if (event.type !== 'DeadLetter' || event.reason !== 'dropped') return;
    const message = event.message;
    if (typeof message !== 'object' || message === null || !delivered.has(message)) return;
    const sub = state.subscriptions.find((s) => s.evicting && s.ref.path === event.recipient);
    if (sub === undefined) return;
    sub.delivered--;
    sub.missed++;
    if (sub.onFull === 'lag') {
      sub.unreported++;
      armLagRetry(state, ctx);
    }
  });
}

/** How soon the topic first retries owed `Lagged` notices while publishing is quiet; it backs off to the max. */
const LAG_RETRY_MS = 10;
const LAG_RETRY_MAX_MS = 1000;

function armLagRetry<E extends Message>(state: TopicState<E>, ctx: ActorContext<TopicMessage<E>>): void {
  if (!ctx.timers.isActive('lagged'))
    ctx.timers.startSingle('lagged', { type: '$topic.retryLagged' }, state.retryMs);
}

/**
 * Tells a lagging subscriber how much it missed (one notice for everything owed); false if
 * there is still no room. Tried only when its mailbox has room, so a notice is never itself
 * dropped by the subscriber's policy (no flood of dead letters while it stays full).
 */
function notify<E extends Message>(sub: Subscription<E>, ctx: ActorContext<TopicMessage<E>>): boolean {
  const stats = ctx.system.inspect(sub.ref);
  if (stats !== undefined && (stats.status === 'stopped' || stats.mailboxDepth >= stats.mailboxCapacity))
    return false;
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
      // Only a live actor of this system can be watched and delivered to: anything else (a
      // plain object that looks like a ref, an ask's temporary replyTo) is refused.
      const target = ctx.system.inspect(m.subscriber);
      if (target === undefined || target.status === 'stopped' || target.id === ctx.self.id) {
        ctx.unhandled();
        if (isRef(m.replyTo)) {
          const error = target === undefined ? 'notAnActor' : target.id === ctx.self.id ? 'self' : 'stopped';
          tellGuarded(ctx, m.replyTo, { type: 'TopicAck', error });
        }
        return;
      }
      const types = Array.isArray(filter) ? new Set<string>(filter) : null;
      const accepts = typeof filter === 'function' ? filter : null;
      const evicting = target.mailboxOverflow === 'dropOldest' || target.mailboxOverflow === 'latest';
      const existing = state.subscriptions.find((s) => s.ref === m.subscriber);
      if (existing === undefined) {
        state.subscriptions.push(new Subscription(m.subscriber, types, accepts, onFull, evicting));
      } else {
        // The same ref again (e.g. a restarted subscriber subscribing anew): keep its counters.
        existing.types = types;
        existing.accepts = accepts;
        existing.onFull = onFull;
        existing.evicting = evicting;
      }
      if (evicting) listenForEvictions(state, ctx);
      ctx.watch(m.subscriber);
      if (isRef(m.replyTo)) tellGuarded(ctx, m.replyTo, ACK);
      return;
    }
    case '$topic.unsubscribe':
      if (!isRef(m.subscriber)) {
        ctx.unhandled();
        return;
      }
      remove(state, m.subscriber);
      ctx.unwatch(m.subscriber);
      if (isRef(m.replyTo)) tellGuarded(ctx, m.replyTo, ACK);
      return;
    case '$topic.stats':
      if (isRef(m.replyTo)) tellGuarded(ctx, m.replyTo, describe(state));
      else ctx.unhandled();
      return;
    case '$topic.retryLagged': {
      let owed = false;
      for (const sub of state.subscriptions) {
        if (sub.unreported > 0 && !notify(sub, ctx)) owed = true;
      }
      // Back off while notices keep failing; start again from the shortest delay once all are through.
      state.retryMs = owed ? Math.min(state.retryMs * 2, LAG_RETRY_MAX_MS) : LAG_RETRY_MS;
      if (owed) armLagRetry(state, ctx);
      return;
    }
    default:
      ctx.unhandled(); // an unknown $topic.* type
  }
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
