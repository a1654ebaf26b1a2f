// Local/remote parity: every verb of an ActorRef against a live, a full, a stopped and a
// never-existing target, once on this node and once on another, side by side. The outcomes
// (result values, error classes, dead-letter reasons) must match; the one documented difference
// is trySend, which answers for the link (it cannot wait for the wire).
import { type ActorRef, type ExitReason, type Message, receive, type Terminated } from '@troupe/runtime';
import { settle } from '@troupe/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, natsUnavailable, startNatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { TestCluster, type TestNode } from './support/nodes.js';

const unavailable = natsUnavailable();
if (unavailable !== null) console.warn(`skipping parity tests: ${unavailable}`);

type Msg =
  | { type: 'hello' }
  | { type: 'hold' }
  | { type: 'ask'; replyTo: ActorRef<{ type: 'answer' }> }
  | { type: 'barrier'; replyTo: ActorRef<{ type: 'answer' }> };

type State = 'live' | 'full' | 'stopped' | 'never';
type Verb = 'tell' | 'trySend' | 'send' | 'ask' | 'watch';

/** What one verb did: its value or error, and the dead letters it caused (on any node). */
interface Outcome {
  readonly value?: string;
  readonly error?: string;
  readonly deadLetters: string[];
}

/** A target actor in a given state on `host`, and how to undo what holds it. */
interface Target {
  readonly ref: ActorRef<Msg>;
  readonly release: () => void;
  /** Stops it (for watch: a live target must end with Terminated). */
  readonly stop: () => Promise<void>;
}

let n = 0;

async function target(host: TestNode, state: State, viewFrom: TestNode): Promise<Target> {
  let gate: (() => void) | undefined;
  const behavior = receive<null, Msg>(null, async (s, m) => {
    if (m.type === 'hold') await new Promise<void>((r) => (gate = r));
    if (m.type === 'ask' || m.type === 'barrier') m.replyTo.tell({ type: 'answer' });
    return s;
  });
  const name = `t${++n}`;
  const sys = host.system;
  const asSeen = (ref: ActorRef<Msg>): ActorRef<Msg> =>
    host === viewFrom ? ref : viewFrom.node.refFor<Msg>(host.node.addressOf(ref as ActorRef<Message>));
  if (state === 'never') {
    const address = `troupe://${host.node.cluster}@${host.node.name}/user/never-${name}#nope`;
    return { ref: viewFrom.node.refFor<Msg>(address), release: () => {}, stop: async () => {} };
  }
  const ref = sys.spawn(behavior, { name, mailbox: { capacity: 1 } });
  if (state === 'full') {
    ref.tell({ type: 'hold' });
    await waitFor(() => gate !== undefined, 'the target holds a message');
    ref.tell({ type: 'hello' }); // the one slot: now full
  }
  if (state === 'stopped') await sys.stop(ref);
  return {
    ref: asSeen(ref),
    release: () => gate?.(),
    stop: async () => {
      gate?.();
      await sys.stop(ref);
    },
  };
}

describe.skipIf(unavailable !== null)('parity: a remote ref behaves as a local one', () => {
  let server: NatsServer;
  let cluster: TestCluster;
  let a: TestNode;
  let b: TestNode;
  let barrierOnB: ActorRef<Msg>;

  beforeAll(async () => {
    server = await startNatsServer();
    cluster = new TestCluster(server.url);
    [a, b] = (await cluster.nodes('a', 'b')) as [TestNode, TestNode];
    const echo = b.system.spawn(
      receive<null, Msg>(null, (s, m) => {
        if (m.type === 'barrier') m.replyTo.tell({ type: 'answer' });
        return s;
      }),
      { name: 'barrier' },
    );
    barrierOnB = a.node.refFor<Msg>(b.node.addressOf(echo as ActorRef<Message>));
  });
  afterAll(async () => {
    await cluster?.stopAll();
    await server?.stop();
  });

  /** Everything a sent to b before this has been handled on b, and b's answers are back on a. */
  async function settled(remote: boolean): Promise<void> {
    if (remote) await barrierOnB.ask((replyTo) => ({ type: 'barrier', replyTo }));
    await settle(a.system);
    await settle(b.system);
  }

  async function run(verb: Verb, state: State, remote: boolean): Promise<Outcome> {
    const host = remote ? b : a;
    const t = await target(host, state, a);
    await settled(remote);
    const before = { a: a.deadLetters().length, b: b.deadLetters().length };
    const outcome: { value?: string; error?: string } = {};
    const record = async (p: Promise<unknown>, value: (v: unknown) => string) => {
      try {
        outcome.value = value(await p);
      } catch (error) {
        outcome.error = (error as Error).name;
      }
    };
    const terminated: ExitReason[] = [];
    switch (verb) {
      case 'tell':
        t.ref.tell({ type: 'hello' });
        break;
      case 'trySend': {
        const r = t.ref.trySend({ type: 'hello' });
        outcome.value = r.ok ? 'ok' : r.reason;
        break;
      }
      case 'send':
        await record(t.ref.send({ type: 'hello' }, { signal: AbortSignal.timeout(150) }), () => 'sent');
        break;
      case 'ask':
        await record(
          t.ref.ask<{ type: 'answer' }>((replyTo) => ({ type: 'ask', replyTo }), { timeoutMs: 200 }),
          (v) => (v as Message).type,
        );
        break;
      case 'watch': {
        const watcher = a.system.spawn(
          receive<null, { type: 'watch' }>(
            null,
            (s, _m, ctx) => {
              ctx.watch(t.ref);
              return s;
            },
            {
              onTerminated: (s, m: Terminated) => {
                terminated.push(m.reason);
                return s;
              },
            },
          ),
        );
        watcher.tell({ type: 'watch' });
        await settled(remote);
        outcome.value = terminated.length === 0 ? 'watching' : `terminated:${terminated[0]?.type}`;
        if (terminated.length === 0) {
          await t.stop();
          await waitFor(() => terminated.length === 1, 'Terminated after the stop');
          outcome.value += `, then terminated:${terminated[0]?.type}`;
        }
        await a.system.stop(watcher);
        break;
      }
    }
    await settled(remote);
    t.release();
    const onA = a.deadLetters().slice(before.a);
    const onB = b.deadLetters().slice(before.b);
    // The dead letter is on the node that knows why: the target's.
    if (remote)
      expect(onA.filter((d) => d.recipient.includes('/user/t') || d.recipient.includes('never'))).toEqual([]);
    else expect(onB).toEqual([]);
    const deadLetters = (remote ? onB : onA)
      .filter((d) => d.recipient.includes('/user/t') || d.recipient.includes('never'))
      .map((d) => d.reason);
    await t.stop();
    return { ...outcome, deadLetters };
  }

  // What a local ref does, per verb and state; a remote ref must do the same (see `differs`).
  const expected: Record<Verb, Record<State, Outcome>> = {
    tell: {
      live: { deadLetters: [] },
      full: { deadLetters: ['mailboxFull'] },
      stopped: { deadLetters: ['stopped'] },
      never: { deadLetters: ['stopped'] },
    },
    trySend: {
      live: { value: 'ok', deadLetters: [] },
      full: { value: 'full', deadLetters: [] },
      stopped: { value: 'closed', deadLetters: [] },
      never: { value: 'closed', deadLetters: [] },
    },
    send: {
      live: { value: 'sent', deadLetters: [] },
      full: { error: 'TimeoutError', deadLetters: [] }, // waited for room until the signal aborted it
      stopped: { error: 'ActorStoppedError', deadLetters: [] },
      never: { error: 'ActorStoppedError', deadLetters: [] },
    },
    ask: {
      live: { value: 'answer', deadLetters: [] },
      full: { error: 'AskTimeoutError', deadLetters: [] }, // waited for room within its timeout
      stopped: { error: 'ActorStoppedError', deadLetters: [] },
      never: { error: 'ActorStoppedError', deadLetters: [] },
    },
    watch: {
      live: { value: 'watching, then terminated:shutdown', deadLetters: [] },
      full: { value: 'watching, then terminated:shutdown', deadLetters: [] },
      stopped: { value: 'terminated:shutdown', deadLetters: [] },
      never: { value: 'terminated:shutdown', deadLetters: [] },
    },
  };

  // trySend cannot wait for the wire: on a remote ref it answers for the link ("ok": queued),
  // and the remote mailbox's answer is the dead letter a tell would get, on the target node.
  // Once that node has said the actor is gone, the ref knows it: the next trySend is "closed".
  const differs: Partial<Record<`${Verb}:${State}`, Outcome>> = {
    'trySend:full': { value: 'ok', deadLetters: ['mailboxFull'] },
    'trySend:stopped': { value: 'ok', deadLetters: ['stopped'] },
    'trySend:never': { value: 'ok', deadLetters: ['stopped'] },
  };

  const verbs: Verb[] = ['tell', 'trySend', 'send', 'ask', 'watch'];
  const states: State[] = ['live', 'full', 'stopped', 'never'];
  for (const verb of verbs) {
    for (const state of states) {
      it(`${verb} to a ${state} target`, async () => {
        const local = await run(verb, state, false);
        const remote = await run(verb, state, true);
        expect(local).toEqual(expected[verb][state]);
        expect(remote).toEqual(differs[`${verb}:${state}`] ?? expected[verb][state]);
      });
    }
  }

  it('a remote ref that its node said is gone fails at once, as a local stopped ref: no wire, no timeout', async () => {
    const t = await target(b, 'stopped', a);
    t.ref.tell({ type: 'hello' }); // b answers: gone
    await settled(true);
    const before = a.deadLetters().length;
    expect(t.ref.trySend({ type: 'hello' })).toMatchObject({ ok: false, reason: 'closed' });
    t.ref.tell({ type: 'hello' });
    expect(
      a
        .deadLetters()
        .slice(before)
        .map((d) => d.reason),
    ).toEqual(['stopped']); // here, at once
    const started = Date.now();
    await expect(
      t.ref.ask((replyTo) => ({ type: 'ask', replyTo }), { timeoutMs: 60_000 }),
    ).rejects.toMatchObject({ name: 'ActorStoppedError' });
    await expect(t.ref.send({ type: 'hello' })).rejects.toMatchObject({ name: 'ActorStoppedError' });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
