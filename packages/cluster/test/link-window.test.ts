/**
 * The link's retransmit window is bounded in bytes (`link.windowBytes`), apart from the queue
 * bound (`link.capacity`): a peer that stops acknowledging fills it, and then the link is full
 * (its overflow policy applies); the peer's ack makes room again.
 */
import { describe, expect, it } from 'vitest';
import { TELL } from '../src/frame.js';
import { Link, type LinkHost } from '../src/link.js';
import { newCounters } from '../src/stats.js';

/** A host whose peer never answers: frames go nowhere, and are counted. */
const silentHost = () => {
  const published: Uint8Array[] = [];
  const host: LinkHost = {
    node: 'a',
    incarnation: 'a-1',
    connected: true,
    maxPayload: 1024 * 1024,
    resendAfterMs: 60_000,
    now: () => 0,
    publish: (_subject, frame) => published.push(frame),
    ackFor: () => undefined,
    undeliverable: () => {},
    lost: () => {},
  };
  return { host, published };
};

const flushed = () => new Promise((resolve) => setImmediate(resolve));
const tell = (i: number) => [TELL, '/user/counter', `m${i}`, Buffer.alloc(1000)] as const;

describe('the retransmit window', () => {
  it('holds at most windowBytes unacknowledged: then the link refuses tells (block), until the peer acks', async () => {
    const { host, published } = silentHost();
    const link = new Link(
      host,
      'b',
      'b-1',
      'subject.b',
      { capacity: 1_000_000, overflow: 'block', maxBatch: 4, windowBytes: 16 * 1024 },
      newCounters(),
    );
    let accepted = 0;
    for (let i = 0; i < 100; i++) {
      if (!link.offerTell([...tell(i)])) break;
      accepted++;
      await flushed();
    }
    // Each 4-message frame is > 4 KB: four frames fill 16 KB, far below the capacity of 1e6.
    expect(accepted).toBeGreaterThanOrEqual(16);
    expect(accepted).toBeLessThan(100);
    expect(link.offerTell([...tell(100)])).toBe(false);

    link.peerAcked(accepted, accepted); // the peer settled everything it was sent
    expect(link.offerTell([...tell(101)])).toBe(true);
    await flushed();
    expect(published.length).toBeGreaterThan(0);
  });
});
