import { receive, supervisor, validateChildSpec } from '@troupe/runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, validateBackoff } from '../src/supervisor/backoff.js';
import { RestartWindow } from '../src/supervisor/restart-window.js';
import { affectedChildren } from '../src/supervisor/strategy.js';

const idle = receive<null, { type: 'x' }>(null, (s) => s);

describe('strategies (pure)', () => {
  const ids = ['a', 'b', 'c', 'd'];
  it('oneForOne restarts only the child that exited', () => {
    expect(affectedChildren('oneForOne', ids, 'b')).toEqual(['b']);
  });
  it('oneForAll restarts every child, in start order', () => {
    expect(affectedChildren('oneForAll', ids, 'c')).toEqual(['a', 'b', 'c', 'd']);
  });
  it('restForOne restarts the child and those started after it', () => {
    expect(affectedChildren('restForOne', ids, 'b')).toEqual(['b', 'c', 'd']);
  });
});

describe('restart intensity window (pure)', () => {
  it('allows maxRestarts within the window and refuses the next', () => {
    const window = new RestartWindow();
    const intensity = { maxRestarts: 2, withinMs: 1000 };
    expect(window.admit(0, intensity)).toBe(true);
    expect(window.admit(10, intensity)).toBe(true);
    expect(window.admit(999, intensity)).toBe(false);
  });

  it('a restart exactly withinMs after the oldest one is allowed again', () => {
    const window = new RestartWindow();
    const intensity = { maxRestarts: 2, withinMs: 1000 };
    window.admit(0, intensity);
    window.admit(10, intensity);
    expect(window.admit(1000, intensity)).toBe(true);
  });

  it('a long restart storm keeps exactly the restarts inside the window', () => {
    const window = new RestartWindow();
    const intensity = { maxRestarts: 1_000_000, withinMs: 100 };
    for (let now = 0; now < 10_000; now++) expect(window.admit(now, intensity)).toBe(true);
    expect(window.count).toBe(100);
  });

  it('maxRestarts 0 refuses the first restart', () => {
    expect(new RestartWindow().admit(0, { maxRestarts: 0, withinMs: 1000 })).toBe(false);
  });

  it('property: never more than maxRestarts admitted within any window of withinMs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 60 }),
        (maxRestarts, withinMs, gaps) => {
          const window = new RestartWindow();
          const admitted: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            if (window.admit(now, { maxRestarts, withinMs })) admitted.push(now);
          }
          for (const t of admitted) {
            const inWindow = admitted.filter((u) => u > t - withinMs && u <= t);
            expect(inWindow.length).toBeLessThanOrEqual(maxRestarts);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('backoff (pure)', () => {
  it('doubles from minMs up to maxMs, without jitter', () => {
    const b = validateBackoff({ minMs: 100, maxMs: 500 });
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(b, n, 0.5))).toEqual([100, 200, 400, 500, 500]);
  });

  it('jitter stays within ± the fraction and within [0, maxMs]', () => {
    const b = validateBackoff({ minMs: 100, maxMs: 1000, jitter: 0.2 });
    expect(backoffDelay(b, 1, 0)).toBe(80);
    expect(backoffDelay(b, 1, 0.999999)).toBeCloseTo(120, 3);
  });

  it.each([
    [{ minMs: -1, maxMs: 10 }, /backoff\.minMs/],
    [{ minMs: 10, maxMs: 5 }, /backoff\.maxMs/],
    [{ minMs: 1, maxMs: 5, jitter: 2 }, /backoff\.jitter/],
    [{ minMs: 1, maxMs: 5, resetAfterMs: Number.NaN }, /backoff\.resetAfterMs/],
  ])('a bad backoff %o is a RangeError naming the field', (backoff, message) => {
    expect(() => validateBackoff(backoff)).toThrow(message);
  });
});

describe('child specs are validated before anything starts', () => {
  const options = (children: unknown[]) => ({
    strategy: 'oneForOne' as const,
    intensity: { maxRestarts: 3, withinMs: 1000 },
    children: children as never,
  });

  it.each([
    [
      [
        { id: 'a', behavior: idle },
        { id: 'a', behavior: idle },
      ],
      /child "a": duplicate id/,
    ],
    [[{ id: 'a', behavior: idle, restart: 'sometimes' }], /child "a": restart must be/],
    [
      [{ id: 'a', behavior: idle, shutdownMs: -5 }],
      /child "a": shutdownMs must be a finite number >= 0; got -5/,
    ],
    [[{ id: 'a', behavior: idle, shutdownMs: Number.NaN }], /child "a": shutdownMs .* got NaN/],
    [[{ id: 'a' }], /child "a": give exactly one of behavior or start/],
    [[{ id: 'a', behavior: idle, start: () => idle }], /child "a": give exactly one/],
    [[{ id: 'a', behavior: {} }], /child "a": behavior must come from/],
    [[{ id: 'a', behavior: idle, mailbox: { capacity: 0 } }], /child "a": mailbox\.capacity/],
    [[{ id: '', behavior: idle }], /child spec #0: id/],
    [[{ id: 'a', behavior: idle }, null], /child spec #1 must be an object/],
  ])('%o is rejected: %s', (children, message) => {
    expect(() => supervisor(options(children))).toThrow(message);
  });

  it.each([
    [{ strategy: 'oneForSome' }, /strategy must be/],
    [{ intensity: { maxRestarts: -1, withinMs: 10 } }, /intensity\.maxRestarts/],
    [{ intensity: { maxRestarts: 1, withinMs: 0 } }, /intensity\.withinMs/],
    [{ children: 'a' }, /children must be an array/],
  ])('bad supervisor options %o are rejected', (override, message) => {
    expect(() => supervisor({ ...options([]), ...(override as object) } as never)).toThrow(message);
  });

  it('defaults: permanent, 5000 ms shutdown', () => {
    const spec = validateChildSpec({ id: 'a', behavior: idle });
    expect(spec.restart).toBe('permanent');
    expect(spec.shutdownMs).toBe(5000);
  });
});
