import { type ActorRef, ActorStoppedError, type Message, OptionChecks } from '@troupe/runtime';
import { isRef } from '../failed-message.js';
import { SelfSubscriptionError } from './self-subscription-error.js';
import {
  isTopic,
  type Lagged,
  ON_FULL,
  type SubscribeOptions,
  type TopicAck,
  type TopicMessage,
  type TopicStats,
} from './topic.js';

/**
 * Client functions for a topic. `subscribe`/`unsubscribe` resolve once the topic has applied
 * them (they are asks), so a publish that follows is seen — or not — for sure.
 */
export const Topic = {
  /**
   * Subscribes `subscriber` (replacing an earlier subscription of the same ref). Checked here
   * before anything is sent: rejects with {@link SelfSubscriptionError} when `subscriber` is the
   * topic itself, and with a `TypeError` naming each bad option (`filter`, `onFull`; several at
   * once: an `InvalidOptionsError`). Rejects with `ActorStoppedError` for a stopped subscriber
   * and `TypeError` for one that is not an actor of this system.
   */
  async subscribe<E extends Message>(
    topicRef: ActorRef<TopicMessage<E>>,
    subscriber: ActorRef<NoInfer<E> | Lagged> | ActorRef<NoInfer<E>>,
    options: SubscribeOptions<NoInfer<E>> = {},
  ): Promise<void> {
    assertTopic(topicRef, 'subscribe');
    if ((subscriber as unknown) === topicRef || (isRef(subscriber) && subscriber.id === topicRef.id)) {
      throw new SelfSubscriptionError(topicRef.path);
    }
    checkSubscribeOptions(options);
    const ack = await topicRef.ask<TopicAck>((replyTo) => ({
      type: '$topic.subscribe',
      subscriber: subscriber as ActorRef<E | Lagged>,
      options,
      replyTo,
    }));
    if (ack.error === 'stopped') throw new ActorStoppedError(subscriber.path);
    if (ack.error === 'self') throw new SelfSubscriptionError(topicRef.path);
    if (ack.error === 'notAnActor') {
      throw new TypeError(`Topic.subscribe: ${String(subscriber.path)} is not an actor of this system`);
    }
  },
  async unsubscribe<E extends Message>(
    topicRef: ActorRef<TopicMessage<E>>,
    subscriber: ActorRef<NoInfer<E> | Lagged> | ActorRef<NoInfer<E>>,
  ): Promise<void> {
    assertTopic(topicRef, 'unsubscribe');
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
    assertTopic(topicRef, 'stats');
    return topicRef.ask<TopicStats>((replyTo) => ({ type: '$topic.stats', replyTo }));
  },
};

/** Throws for bad subscribe options, naming each bad field at once. */
function checkSubscribeOptions(options: unknown): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `Topic.subscribe: options must be an object; got ${options === null ? 'null' : typeof options}`,
    );
  }
  const { filter, onFull } = options as { filter?: unknown; onFull?: unknown };
  const checks = new OptionChecks('Topic.subscribe');
  checks.run(() => {
    if (onFull !== undefined && !ON_FULL.includes(onFull as string)) {
      throw new TypeError(`Topic.subscribe: onFull must be 'lag', 'block' or 'drop'; got ${String(onFull)}`);
    }
  }, undefined);
  checks.run(() => {
    if (filter !== undefined && typeof filter !== 'function' && !Array.isArray(filter)) {
      throw new TypeError('Topic.subscribe: filter must be a predicate or an array of event types');
    }
  }, undefined);
  checks.done();
}

/** Throws `TypeError` at once for a ref that is not a topic of this process (rather than an ask timeout later). */
function assertTopic(ref: unknown, what: string): void {
  if (typeof ref !== 'object' || ref === null || !isTopic(ref)) {
    const path = (ref as { path?: unknown } | null)?.path;
    throw new TypeError(
      `Topic.${what}: ${typeof path === 'string' ? path : String(ref)} is not a topic (spawn one with topic())`,
    );
  }
}
