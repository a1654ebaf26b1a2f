import { Topic } from '@troupe/actors';
import { ActorSystem } from '@troupe/runtime';
import { logSink, settle, shutdownAdvancing, VirtualClock } from '@troupe/runtime/testing';
import { describe, expect, it } from 'vitest';
import { countDeadLetters, deadLetterLines } from '../src/dead-letter-summary.js';
import { startPipeline } from '../src/pipeline/app.js';

describe('pipeline scenario (virtual time)', () => {
  it('a slow executor backpressures the source: it waits, and nothing is lost', async () => {
    const clock = new VirtualClock();
    const system = ActorSystem.start({ name: 'pipeline-test', clock, logger: logSink('warn').logger });
    const app = startPipeline(system, { blockMs: 20, executeMs: 100 });
    await settle(system);
    for (let t = 0; t < 300; t++) {
      clock.advance(10);
      await settle(system);
    }
    const s = app.stats;
    // 3 s at 20 ms per block would be 150 blocks; the pipeline held the source back.
    expect(s.sourceWaits).toBeGreaterThan(0);
    expect(s.blocks).toBeLessThan(150);
    expect(s.executed).toBeLessThanOrEqual(31);
    // The topic answers only once it has room to deliver (it is backpressured too): keep time moving.
    let stats: Awaited<ReturnType<typeof Topic.stats>> | undefined;
    void Topic.stats(app.bus).then((value) => {
      stats = value;
    });
    for (let t = 0; t < 1000 && stats === undefined; t++) {
      clock.advance(10);
      await settle(system);
    }
    if (stats === undefined) throw new Error('the topic never answered');
    const detector = stats.subscriptions.find((sub) => sub.subscriber.endsWith('/detector'));
    expect(detector).toMatchObject({ missed: 0 });
    // every block the source made reached the bus, and every block on the bus reached the detector
    expect(stats.published + (system.inspect(app.bus)?.mailboxDepth ?? 0)).toBeGreaterThanOrEqual(
      s.blocks - 1,
    );
    expect(detector?.delivered).toBe(stats.published);
    const dead: string[] = [];
    system.events.subscribe((e) => {
      if (e.type === 'DeadLetter') dead.push(`${e.reason} ${e.recipient}`);
    });
    // Stop the source and let the blocks in flight reach every stage, then shut down.
    app.stopSource();
    for (let t = 0; t < 60_000 && !app.drained(); t += 10) {
      clock.advance(10);
      await settle(system);
    }
    expect(app.drained()).toBe(true);
    const made = app.stats.blocks;
    expect(app.stats.decodedBlocks).toBe(made);
    expect(app.stats.head).toBe(made);
    await shutdownAdvancing(system, clock, { timeoutMs: 60_000 });
    // Draining executes every queued opportunity: nothing found is dropped, and nothing at all
    // became a dead letter (the summary's "dead letters: 0" and "nothing is dropped" agree).
    expect(app.stats.executed).toBe(app.stats.opportunities);
    expect(dead).toEqual([]);
    expect(system.deadLetters).toBe(0);
  });

  it('shutting down without draining: each dead letter is a block the bus still held, explained', async () => {
    const clock = new VirtualClock();
    const system = ActorSystem.start({ name: 'pipeline-test', clock, logger: logSink('warn').logger });
    const deadLetters = countDeadLetters(system);
    startPipeline(system, { blockMs: 20, executeMs: 100 });
    for (let t = 0; t < 100; t++) {
      clock.advance(10);
      await settle(system);
    }
    await shutdownAdvancing(system, clock, { timeoutMs: 60_000 });
    const lines = deadLetters.lines();
    expect(system.deadLetters).toBeGreaterThan(0); // virtual time: the same every run
    expect(lines[0]).toBe(`  dead letters: ${system.deadLetters}`);
    // Every dead letter is in exactly one reason line, and the reasons add up to the total.
    const counted = lines.slice(1).map((line) => Number(/^ {4}(\d+) /.exec(line)?.[1]));
    expect(counted.reduce((a, b) => a + b, 0)).toBe(system.deadLetters);
    for (const line of lines.slice(1))
      expect(line).toMatch(
        /^ {4}\d+ stopped \(sent to an actor after it stopped, or still queued when it stopped\): \/user\/pipeline\//,
      );
  });
});

describe('dead-letter summary lines', () => {
  it('groups by reason (most first), explains each, and lists recipients', () => {
    const lines = deadLetterLines(
      new Map([
        ['lateReply', new Map([['/user/a', 1]])],
        [
          'stopped',
          new Map([
            ['/user/b', 1],
            ['/user/c', 2],
          ]),
        ],
      ]),
    );
    expect(lines).toEqual([
      '  dead letters: 4',
      '    3 stopped (sent to an actor after it stopped, or still queued when it stopped): /user/c ×2, /user/b ×1',
      '    1 lateReply (a reply to an ask that had already timed out): /user/a ×1',
    ]);
    expect(deadLetterLines(new Map())).toEqual(['  dead letters: 0']);
  });
});
