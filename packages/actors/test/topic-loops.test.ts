// A topic that reaches itself. Directly (`Topic.subscribe(t, t)`) it is refused. Through other
// actors (a subscriber that republishes every event, two topics subscribed to each other) it
// cannot be told from a pipeline, so it is not refused: these tests show that such a loop
// stays bounded — by the mailboxes on the way, with every event that did not fit counted as a
// miss or a dead letter — and that it ends once the loop is cut.
import {
  type Lagged,
  SelfSubscriptionError,
  Topic,
  type TopicAck,
  type TopicMessage,
  type TopicStats,
  topic,
} from '@troupe/actors';
import { type ActorRef, ActorSystem, type DeadLetter, type Message, receive } from '@troupe/runtime';
import { settle, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

type Ev = { readonly type: 'ev'; readonly n: number };

let system: ActorSystem;
let clock: VirtualClock;
let dead: DeadLetter[];

beforeEach(() => {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'loops', clock });
  dead = [];
  system.events.subscribe((e) => {
    if (e.type === 'DeadLetter') dead.push(e);
  });
});

afterEach(async () => {
  await system.shutdown({ timeoutMs: 100 });
});

/** Lets the dispatcher run until `done()` holds; bounded, so a loop that stalls fails the test instead of hanging it. */
async function runUntil(done: () => boolean, what: string, maxTurns = 20_000): Promise<void> {
  for (let turn = 0; turn < maxTurns; turn++) {
    if (done()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`not reached within ${maxTurns} event-loop turns: ${what}`);
}

/** Whether the system never goes idle (a live loop): `settle` gives up. */
async function neverSettles(): Promise<boolean> {
  return settle(system, 200).then(
    () => false,
    () => true,
  );
}

/** A subscriber that records every event and every Lagged notice, and keeps up. */
function witness() {
  const got = { events: 0, lagged: 0 };
  const ref = system.spawn(
    receive<null, Ev | Lagged>(null, (s, m) => {
      if (m.type === 'ev') got.events++;
      else got.lagged += m.missed;
      return s;
    }),
    { name: 'witness', mailbox: { capacity: 16 } },
  );
  return { ref, got };
}

const depth = (ref: ActorRef<never>) => system.inspect(ref)?.mailboxDepth ?? 0;

/** A topic's counters read from the tree, without sending it a message. */
const details = (ref: ActorRef<TopicMessage<Ev>>) =>
  system.tree().children.find((c) => c.path === ref.path)?.details as TopicStats;

describe('topic: a direct self-subscription is refused', () => {
  it('Topic.subscribe(t, t) rejects with SelfSubscriptionError before anything is sent', async () => {
    const bus = system.spawn(topic<Ev>(), { name: 'bus' });
    await settle(system);
    const before = system.inspect(bus)?.received;
    const self = bus as unknown as ActorRef<Ev>;
    const error = await Topic.subscribe(bus, self).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SelfSubscriptionError);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: 'TOPIC_SELF_SUBSCRIPTION', topic: '/user/bus' });
    // The same actor by another route (a lookup): refused too.
    const looked = system.lookup('/user/bus') as unknown as ActorRef<Ev>;
    await expect(Topic.subscribe(bus, looked, { onFull: 'block' })).rejects.toBeInstanceOf(
      SelfSubscriptionError,
    );
    expect(system.inspect(bus)?.received).toBe(before);
    Topic.publish(bus, { type: 'ev', n: 1 });
    await settle(system); // no loop: the system goes idle
    expect((await Topic.stats(bus)).subscriptions).toEqual([]);
  });

  it('a raw $topic.subscribe of the topic itself is an unhandled dead letter with ack error self', async () => {
    const bus = system.spawn(topic<Ev>(), { name: 'bus' });
    const raw = bus as unknown as ActorRef<Message>;
    const ack = await raw.ask<TopicAck>(
      (replyTo) => ({ type: '$topic.subscribe', subscriber: bus, options: {}, replyTo }) as Message,
    );
    expect(ack).toEqual({ type: 'TopicAck', error: 'self' });
    expect(dead.map((d) => [d.reason, d.recipient, (d.message as Message).type])).toEqual([
      ['unhandled', '/user/bus', '$topic.subscribe'],
    ]);
    Topic.publish(bus, { type: 'ev', n: 1 });
    await settle(system);
    const stats = await Topic.stats(bus);
    expect(stats).toEqual({ type: 'TopicStats', published: 1, subscriptions: [] });
    expect(system.inspect(bus)).toMatchObject({ status: 'running', restarts: 0, unhandled: 1 });
  });
});

describe('topic: an indirect loop stays bounded and is counted', () => {
  it('a subscriber that republishes every event: one event circulates forever in constant space, until cut', async () => {
    const bus = system.spawn(topic<Ev>(), { name: 'bus', mailbox: { capacity: 8 } });
    let republished = 0;
    let maxDepth = 0;
    const echo = system.spawn(
      receive<null, Ev | Lagged>(null, (s, m) => {
        if (m.type !== 'ev') return s;
        maxDepth = Math.max(maxDepth, depth(bus as never), depth(echo as never));
        Topic.publish(bus, m);
        republished++;
        return s;
      }),
      { name: 'echo', mailbox: { capacity: 4 } },
    );
    const w = witness();
    await Topic.subscribe(bus, echo);
    await Topic.subscribe(bus, w.ref);
    Topic.publish(bus, { type: 'ev', n: 0 });

    await runUntil(() => republished >= 2000, '2000 republished events');
    expect(await neverSettles()).toBe(true); // the loop is live: it never ends by itself
    // Other actors still run meanwhile (the dispatcher's fairness): the topic answers an ask.
    expect((await Topic.stats(bus)).published).toBeGreaterThan(2000);
    expect(maxDepth).toBeLessThanOrEqual(1); // one event in flight: nothing piles up

    await Topic.unsubscribe(bus, echo); // cut the loop
    await settle(system); // now it ends
    const stats = await Topic.stats(bus);
    // Every republish was accepted (nothing was full), and published once more by the topic.
    expect(dead).toEqual([]);
    expect(stats.published).toBe(1 + republished);
    expect(system.inspect(echo)?.processed).toBe(republished); // each event it got, once
    expect(stats.subscriptions).toEqual([
      {
        subscriber: '/user/witness',
        onFull: 'lag',
        matched: stats.published,
        delivered: stats.published,
        missed: 0,
        filterErrors: 0,
      },
    ]);
    expect(w.got).toEqual({ events: stats.published, lagged: 0 });
  });

  it('a subscriber that republishes every event twice: the loop grows only to the mailboxes, and every extra event is counted', async () => {
    const busCapacity = 4; // less than the 2 × 4 events the republisher can tell per turn
    const echoCapacity = 4;
    const bus = system.spawn(topic<Ev>(), { name: 'bus', mailbox: { capacity: busCapacity } });
    let handled = 0;
    let told = 0;
    const max = { bus: 0, echo: 0 };
    const echo = system.spawn(
      receive<null, Ev | Lagged>(null, (s, m) => {
        if (m.type === 'Lagged') return s;
        handled++;
        Topic.publish(bus, { type: 'ev', n: m.n + 1 });
        Topic.publish(bus, { type: 'ev', n: m.n + 1 });
        told += 2;
        max.bus = Math.max(max.bus, depth(bus as never));
        max.echo = Math.max(max.echo, depth(echo as never));
        return s;
      }),
      { name: 'echo', mailbox: { capacity: echoCapacity } },
    );
    const w = witness();
    await Topic.subscribe(bus, echo); // onFull 'lag': the topic never waits for it
    await Topic.subscribe(bus, w.ref);
    Topic.publish(bus, { type: 'ev', n: 0 });

    await runUntil(() => handled >= 2000, '2000 events handled by the republisher');
    expect(await neverSettles()).toBe(true);
    // Exponential on paper; in fact held by the two mailboxes, which fill and stay full.
    expect(max.bus).toBe(busCapacity);
    expect(max.echo).toBeLessThanOrEqual(echoCapacity);
    const fullTells = () =>
      dead.filter((d) => d.reason === 'mailboxFull' && d.recipient === '/user/bus').length;
    // Twice as many events as there is room for: what does not fit is counted where it does
    // not fit — refused tells to the topic (dead letters), or events the echo missed (read
    // from the tree: an ask could meet the full mailbox).
    const echoMissed = details(bus).subscriptions.find((s) => s.subscriber === '/user/echo')?.missed ?? 0;
    expect(fullTells() + echoMissed).toBeGreaterThan(0);

    // Cut the loop: stop the republisher (through the system lane, which a full mailbox cannot block).
    await system.stop(echo);
    await settle(system);
    clock.advance(1000); // the topic's owed Lagged notices to the witness go out
    await settle(system);
    clock.advance(1000);
    await settle(system);

    const stats = await Topic.stats(bus);
    // The topic's mailbox took the seed and every republish that found room; each one it
    // refused is a `mailboxFull` dead letter addressed to it. No other event entered it.
    expect(stats.published).toBe(1 + told - fullTells());
    const [sub] = stats.subscriptions; // the echo's subscription left with it (death watch)
    expect(stats.subscriptions).toHaveLength(1);
    expect(sub).toMatchObject({ subscriber: '/user/witness', matched: stats.published });
    expect((sub?.delivered ?? 0) + (sub?.missed ?? 0)).toBe(stats.published);
    // The witness got each event delivered to it, and was told of each one it missed.
    expect(w.got).toEqual({ events: sub?.delivered, lagged: sub?.missed });
    // No other dead letters than the refused republishes and the events the topic still
    // delivered to the republisher while it stopped.
    const other = dead.filter((d) => !(d.reason === 'mailboxFull' && d.recipient === '/user/bus'));
    expect(other.every((d) => d.reason === 'stopped' && d.recipient === '/user/echo')).toBe(true);
  });

  it('two topics subscribed to each other: an event ping-pongs forever in constant space, until one unsubscribes', async () => {
    const a = system.spawn(topic<Ev>(), { name: 'a', mailbox: { capacity: 8 } });
    const b = system.spawn(topic<Ev>(), { name: 'b', mailbox: { capacity: 8 } });
    const asSubscriber = (t: ActorRef<TopicMessage<Ev>>) => t as unknown as ActorRef<Ev>;
    // Not refused: a topic feeding another is a pipeline; only the pair makes it a loop.
    await Topic.subscribe(a, asSubscriber(b), { onFull: 'drop' });
    await Topic.subscribe(b, asSubscriber(a), { onFull: 'drop' });
    Topic.publish(a, { type: 'ev', n: 0 });
    await runUntil(() => details(a).published >= 1000, '1000 rounds');
    expect(await neverSettles()).toBe(true);
    expect(Math.max(depth(a as never), depth(b as never))).toBeLessThanOrEqual(1);
    await Topic.unsubscribe(b, asSubscriber(a));
    await settle(system);
    const [sa, sb] = [await Topic.stats(a), await Topic.stats(b)];
    // The event went a -> b -> a ...: a published it once more than b, or as often (b's last
    // publish reached no one once a had left).
    expect(sa.published - sb.published === 0 || sa.published - sb.published === 1).toBe(true);
    expect(sa.subscriptions).toEqual([
      expect.objectContaining({
        subscriber: '/user/b',
        matched: sa.published,
        delivered: sa.published,
        missed: 0,
      }),
    ]);
    expect(sb.subscriptions).toEqual([]);
    expect(dead).toEqual([]);
  });
});
