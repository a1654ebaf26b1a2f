/**
 * Ask storm: a flood of asks with short timeouts against an actor too slow to answer them all.
 *
 * The guarantees, exactly:
 * - every ask settles exactly once: resolved with its own answer, or rejected with
 *   `AskTimeoutError` (no other outcome, none left pending);
 * - a reply to an ask that already timed out is a `lateReply` dead letter: the late replies are
 *   exactly the timed-out asks that the actor answered anyway, and nothing else is a dead letter;
 * - a request still waiting for mailbox room when its ask times out is withdrawn ("under
 *   `block` the request waits for room within the timeout"): the actor never gets it;
 * - no timer leaks: on a `VirtualClock` nothing is pending at the end, and on the real clock a
 *   process that ran the storm exits on its own.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type ActorRef, ActorSystem, AskTimeoutError, receive } from '@troupe/runtime';
import { settle, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prng } from './support/prng.js';
import { size, timeLimit } from './support/soak.js';
import { runFor, sleep } from './support/time.js';

type Answer = { readonly type: 'answer'; readonly id: number };
type Question = { readonly type: 'question'; readonly id: number; readonly replyTo: ActorRef<Answer> };

const ASKS = size(10_000, 100_000);

let clock: VirtualClock;
let system: ActorSystem;
let lateReplies: Set<number>;
let otherDeadLetters: number;

beforeEach(() => {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'ask-storm', clock });
  lateReplies = new Set();
  otherDeadLetters = 0;
  system.events.subscribe((e) => {
    if (e.type !== 'DeadLetter') return;
    if (e.reason === 'lateReply') lateReplies.add((e.message as Answer).id);
    else otherDeadLetters++;
  });
});

afterEach(async () => {
  await system.shutdown();
});

/** Answers each question after `ms` of virtual time; records whom it answered. */
function slowAnswerer(ms: number, answered: Set<number>, capacity: number): ActorRef<Question> {
  return system.spawn(
    receive<null, Question>(null, async (s, m, ctx) => {
      await sleep(clock, ms);
      answered.add(m.id);
      ctx.reply(m.replyTo, { type: 'answer', id: m.id });
      return s;
    }),
    { name: 'slow', mailbox: { capacity } },
  );
}

describe('ask storm', () => {
  it(
    `${ASKS.toLocaleString('en')} asks with 0–49 ms timeouts against a 1 ms/answer actor: each settles once; late replies == timed-out asks answered anyway; no timer left`,
    async () => {
      const answered = new Set<number>();
      const slow = slowAnswerer(1, answered, 64);
      const random = prng(42);
      const outcome = new Uint8Array(ASKS); // 0 pending, 1 resolved, 2 timed out, 3 anything else
      const settledCount = new Uint8Array(ASKS);
      let maxTimeout = 0;
      for (let id = 0; id < ASKS; id++) {
        const timeoutMs = Math.floor(random() * 50);
        maxTimeout = Math.max(maxTimeout, timeoutMs);
        slow
          .ask<Answer>((replyTo) => ({ type: 'question', id, replyTo }), { timeoutMs })
          .then(
            (answer) => {
              settledCount[id] = (settledCount[id] ?? 0) + 1;
              outcome[id] = answer.id === id ? 1 : 3;
            },
            (error: unknown) => {
              settledCount[id] = (settledCount[id] ?? 0) + 1;
              outcome[id] = error instanceof AskTimeoutError ? 2 : 3;
            },
          );
      }
      // Run until every ask is settled and the actor has answered all it was given.
      const busy = () => outcome.includes(0) || (system.inspect(slow)?.mailboxDepth ?? 0) > 0;
      for (let t = 0; t < ASKS + 1_000 && busy(); t++) await runFor(system, clock, 1);
      await runFor(system, clock, maxTimeout + 2); // in-flight answers land; the ask timer runs out

      const count = (o: number) => outcome.filter((x) => x === o).length;
      expect(settledCount.every((n) => n === 1)).toBe(true);
      expect(count(0)).toBe(0);
      expect(count(3)).toBe(0);
      expect(count(1) + count(2)).toBe(ASKS);
      expect(count(1)).toBeGreaterThan(0); // the storm has both outcomes
      expect(count(2)).toBeGreaterThan(0);

      // Late replies are exactly the timed-out asks the actor answered anyway.
      const answeredLate = [...answered].filter((id) => outcome[id] === 2);
      expect(lateReplies.size).toBe(answeredLate.length);
      expect(answeredLate.every((id) => lateReplies.has(id))).toBe(true);
      expect(answered.size).toBe(count(1) + answeredLate.length);
      expect(otherDeadLetters).toBe(0);
      expect(system.deadLetters).toBe(lateReplies.size);

      // Requests that timed out while waiting for room were withdrawn: the actor received only
      // what it answered, far fewer than were asked.
      expect(system.inspect(slow)).toMatchObject({ received: answered.size, processed: answered.size });
      expect(answered.size).toBeLessThan(ASKS / 10);
      expect(clock.pending).toBe(0);
    },
    timeLimit(30_000, 300_000),
  );

  it('a request still waiting for room when its ask times out is withdrawn: never delivered, never answered', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const received: number[] = [];
    const stuck = system.spawn(
      receive<null, Question>(null, async (s, m, ctx) => {
        received.push(m.id);
        await gate;
        ctx.reply(m.replyTo, { type: 'answer', id: m.id });
        return s;
      }),
      { name: 'stuck', mailbox: { capacity: 1 } },
    );
    const outcomes = [0, 1, 2, 3, 4].map((id) =>
      stuck
        .ask<Answer>((replyTo) => ({ type: 'question', id, replyTo }), { timeoutMs: 10 })
        .then(
          () => 'resolved',
          (e: unknown) => (e instanceof AskTimeoutError ? 'timeout' : String(e)),
        ),
    );
    await settle(system);
    expect(received).toEqual([0]); // 0 in the handler, 1 queued, 2–4 waiting for room
    clock.advance(10);
    expect(await Promise.all(outcomes)).toEqual(['timeout', 'timeout', 'timeout', 'timeout', 'timeout']);
    release();
    await settle(system);
    expect(received).toEqual([0, 1]); // 2–4 were withdrawn when their asks timed out
    expect([...lateReplies].sort()).toEqual([0, 1]);
    expect(system.inspect(stuck)).toMatchObject({ received: 2, processed: 2, mailboxDepth: 0 });
  });

  it(
    'on the real clock, a process that ran the storm exits on its own with every ask accounted for',
    async () => {
      const fixture = fileURLToPath(new URL('./fixtures/ask-storm.ts', import.meta.url));
      const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@troupe/source', fixture], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, ASKS: String(ASKS) },
      });
      let output = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        output += chunk;
      });
      // A leaked timer keeps the process alive: the test's own time limit then fails it.
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(code).toBe(0);
      const report = JSON.parse(output.trim().split('\n').at(-1) as string) as Record<
        string,
        number | boolean
      >;
      expect(report).toMatchObject({
        code: 0,
        asks: ASKS,
        settled: ASKS,
        settledTwice: 0,
        otherErrors: 0,
        lateMatch: true,
        otherDeadLetters: 0,
      });
      expect((report.resolved as number) + (report.timedOut as number)).toBe(ASKS);
      expect(report.lateReplies).toBe(report.answeredAfterTimeout);
      expect(report.answered).toBe((report.resolved as number) + (report.answeredAfterTimeout as number));
    },
    timeLimit(30_000, 120_000),
  );
});
