import {
  type CountWindowOptions,
  countWindow,
  type TimeWindowOptions,
  timeWindow,
  type WindowAggregate,
} from '@troupe/actors';
import { type ActorRef, ActorSystem, receive } from '@troupe/runtime';
import { logSink, settle, TestProbe, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** Seed 002's `SensorReading` (the `timestamp` is the clock's, so it is left out). */
interface SensorReading {
  readonly type: 'SensorReading';
  readonly sensorId: string;
  readonly temperature: number;
  readonly humidity: number;
}

let system: ActorSystem;
let clock: VirtualClock;
let log: ReturnType<typeof logSink>;
let out: TestProbe<WindowAggregate>;

beforeEach(() => {
  clock = new VirtualClock();
  log = logSink('warn');
  system = ActorSystem.start({ name: 'windows', clock, logger: log.logger });
  out = new TestProbe<WindowAggregate>(system, 'out');
});

afterEach(async () => {
  await system.shutdown({ timeoutMs: 100 });
});

const reading = (sensorId: string, temperature: number): SensorReading => ({
  type: 'SensorReading',
  sensorId,
  temperature,
  humidity: 60,
});

const byTemperature = { key: (r: SensorReading) => r.sensorId, value: (r: SensorReading) => r.temperature };

const spawnTimeWindow = (sizeMs = 100) =>
  system.spawn(timeWindow<SensorReading>({ sizeMs, ...byTemperature, target: out.ref }), { name: 'window' });

const aggregates = () => out.messages as WindowAggregate[];

describe('timeWindow', () => {
  it('seed 002: Fahrenheit readings averaged per sensor per 60 s window', async () => {
    // transform_readings (°C → °F) -> window_readings (60 s) -> aggregate_readings, as actors.
    const window = system.spawn(
      timeWindow<SensorReading>({ sizeMs: 60_000, ...byTemperature, target: out.ref }),
      { name: 'window' },
    );
    const transform = system.spawn(
      receive<null, SensorReading>(null, (s, r, ctx) => {
        ctx.send(window, { ...r, temperature: r.temperature * 1.8 + 32 });
        return s;
      }),
      { name: 'transform' },
    );
    const feed = async (atMs: number, ...readings: SensorReading[]) => {
      clock.advance(atMs - clock.now());
      for (const r of readings) transform.tell(r);
      await settle(system);
    };
    await feed(0, reading('sensor1', 25), reading('sensor2', 10));
    await feed(20_000, reading('sensor1', 30));
    await feed(59_999, reading('sensor1', 20), reading('sensor2', 0));
    await out.expectNoMessage();
    await feed(60_000);
    expect(aggregates()).toEqual([
      {
        type: 'WindowAggregate',
        key: 'sensor1',
        count: 3,
        sum: 231,
        min: 68,
        max: 86,
        avg: 77,
        start: 0,
        end: 60_000,
      },
      {
        type: 'WindowAggregate',
        key: 'sensor2',
        count: 2,
        sum: 82,
        min: 32,
        max: 50,
        avg: 41,
        start: 0,
        end: 60_000,
      },
    ]);
    await feed(90_000, reading('sensor2', 100));
    await feed(120_000);
    expect(aggregates().slice(2)).toEqual([
      expect.objectContaining({ key: 'sensor2', count: 1, avg: 212, start: 60_000, end: 120_000 }),
    ]);
  });

  it('aligns windows to multiples of sizeMs on the clock, starting with the one it starts in', async () => {
    clock.advance(250);
    const ref = spawnTimeWindow(100);
    ref.tell(reading('a', 1));
    await settle(system);
    clock.advance(49);
    await out.expectNoMessage();
    clock.advance(1);
    expect(await out.expectMessage()).toMatchObject({ key: 'a', start: 200, end: 300 });
  });

  it('an event queued before the closing timer fired belongs to the closing window', async () => {
    const ref = spawnTimeWindow(100);
    await settle(system);
    clock.advance(99);
    ref.tell(reading('a', 1)); // queued at 99, handled after the close fired at 100
    clock.advance(1);
    ref.tell(reading('a', 2)); // queued at 100: next window
    await settle(system);
    clock.advance(100);
    await settle(system);
    expect(aggregates().map((a) => [a.start, a.sum])).toEqual([
      [0, 1],
      [100, 2],
    ]);
  });

  it('empty windows emit nothing; each key is emitted only for windows it had events in', async () => {
    const ref = spawnTimeWindow(100);
    ref.tell(reading('a', 1));
    ref.tell(reading('b', 5));
    await settle(system);
    for (let i = 0; i < 3; i++) {
      clock.advance(100);
      await settle(system);
    }
    ref.tell(reading('b', 7));
    await settle(system);
    clock.advance(100);
    await settle(system);
    expect(aggregates().map((a) => `${a.key}@${a.start}`)).toEqual(['a@0', 'b@0', 'b@300']);
  });

  it('after a long pause it resumes with the window that contains the current time', async () => {
    const ref = spawnTimeWindow(100);
    ref.tell(reading('a', 1));
    await settle(system);
    clock.advance(350); // one close fired at 100; the actor handles it at 350
    await settle(system);
    ref.tell(reading('a', 2));
    await settle(system);
    clock.advance(50);
    await settle(system);
    expect(aggregates().map((a) => [a.start, a.end, a.sum])).toEqual([
      [0, 100, 1],
      [300, 400, 2],
    ]);
  });

  it('skips, logs and counts events whose value is not a finite number', async () => {
    const ref = spawnTimeWindow(100);
    ref.tell(reading('a', Number.NaN));
    ref.tell(reading('a', 3));
    await settle(system);
    expect(system.tree().children.find((c) => c.name === 'window')?.details).toMatchObject({ skipped: 1 });
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        actor: '/user/window',
        msg: 'window: value is not a finite number; event skipped',
      }),
    );
    clock.advance(100);
    expect(await out.expectMessage()).toMatchObject({ count: 1, sum: 3 });
  });

  it('discards the open window when it stops', async () => {
    const ref = spawnTimeWindow(100);
    ref.tell(reading('a', 1));
    await settle(system);
    system.stop(ref);
    await settle(system);
    clock.advance(100);
    await out.expectNoMessage();
  });

  it('sends to a target whose message union is wider than WindowAggregate', async () => {
    type Dashboard = WindowAggregate | { type: 'Reset' };
    const dashboard = new TestProbe<Dashboard>(system, 'dashboard');
    const target: ActorRef<Dashboard> = dashboard.ref;
    const ref = system.spawn(timeWindow<SensorReading>({ sizeMs: 10, ...byTemperature, target }));
    ref.tell(reading('a', 1));
    await settle(system);
    clock.advance(10);
    expect(await dashboard.expectMessage()).toMatchObject({ type: 'WindowAggregate', key: 'a' });
  });
});

describe('countWindow', () => {
  const spawnCountWindow = (size = 3) =>
    system.spawn(countWindow<SensorReading>({ size, ...byTemperature, target: out.ref }), { name: 'counts' });

  it('emits every size events of a key, keys counting independently', async () => {
    const ref = spawnCountWindow(2);
    ref.tell(reading('a', 1));
    ref.tell(reading('b', 10));
    ref.tell(reading('a', 3));
    ref.tell(reading('a', 5));
    await settle(system);
    expect(aggregates()).toEqual([
      { type: 'WindowAggregate', key: 'a', count: 2, sum: 4, min: 1, max: 3, avg: 2, start: 0, end: 0 },
    ]);
    ref.tell(reading('b', 20));
    ref.tell(reading('a', 7));
    await settle(system);
    expect(
      aggregates()
        .slice(1)
        .map((a) => [a.key, a.avg]),
    ).toEqual([
      ['b', 15],
      ['a', 6],
    ]);
  });

  it('start and end are the clock times of the first and last events', async () => {
    const ref = spawnCountWindow(2);
    clock.advance(10);
    ref.tell(reading('a', 1));
    await settle(system);
    clock.advance(25);
    ref.tell(reading('a', 1));
    expect(await out.expectMessage()).toMatchObject({ start: 10, end: 35 });
  });

  it('never emits a partly filled window, also not when it stops', async () => {
    const ref = spawnCountWindow(3);
    ref.tell(reading('a', 1));
    ref.tell(reading('a', 2));
    await settle(system);
    clock.advance(10_000);
    system.stop(ref);
    await out.expectNoMessage();
  });
});

describe('window options', () => {
  const base = { ...byTemperature, target: {} as ActorRef<WindowAggregate> };
  it.each([
    [{ sizeMs: 0 }, RangeError, /timeWindow: sizeMs/],
    [{ sizeMs: Number.NaN }, RangeError, /timeWindow: sizeMs/],
    [{ sizeMs: 10, key: 'id' }, TypeError, /timeWindow: key must be a function/],
    [{ sizeMs: 10, value: undefined }, TypeError, /timeWindow: value must be a function/],
    [{ sizeMs: 10, target: null }, TypeError, /timeWindow: target must be an actor ref/],
  ])('timeWindow rejects %o with a %o naming the field', (bad, Err, message) => {
    const options = { ...base, target: out.ref, ...bad } as unknown as TimeWindowOptions<SensorReading>;
    expect(() => timeWindow(options)).toThrow(Err);
    expect(() => timeWindow(options)).toThrow(message);
  });

  it.each([
    [{ size: 0 }, RangeError, /countWindow: size/],
    [{ size: 1.5 }, RangeError, /countWindow: size/],
  ])('countWindow rejects %o with a %o naming the field', (bad, Err, message) => {
    const options = { ...base, target: out.ref, ...bad } as unknown as CountWindowOptions<SensorReading>;
    expect(() => countWindow(options)).toThrow(Err);
    expect(() => countWindow(options)).toThrow(message);
  });
});
