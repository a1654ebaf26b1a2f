import { Topic } from '@troupe/actors';
import { ActorSystem } from '@troupe/runtime';
import { logSink, settle, shutdownAdvancing, VirtualClock } from '@troupe/runtime/testing';
import { describe, expect, it } from 'vitest';
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
      if (e.type === 'DeadLetter') dead.push(e.reason);
    });
    await shutdownAdvancing(system, clock, { timeoutMs: 60_000 });
    // Draining executes every queued opportunity: nothing found is dropped.
    expect(app.stats.executed).toBe(app.stats.opportunities);
    expect(dead.filter((r) => r !== 'stopped')).toEqual([]);
  });
});
