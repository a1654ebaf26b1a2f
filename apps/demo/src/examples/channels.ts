import { broadcast, mpsc, watch } from '@troupe/runtime';

// mpsc: many producers, one consumer, bounded. `send` waits while full (backpressure).
const [tx, rx] = mpsc<number>(2);
tx.trySend(1); // { ok: true } — or { ok: false, reason: 'full' | 'closed', value }
const waiting = tx.send(2).then(() => tx.send(3)); // waits for room; FIFO among waiting senders
void waiting.then(() => tx.close());
for await (const n of rx) console.log('received', n); // ends after close + drain: 1, 2, 3

// Overflow policies: 'block' (default) | 'dropNewest' | 'dropOldest' | 'latest'.
const [gauge] = mpsc<number>(2, { overflow: 'dropOldest', onDrop: (v) => console.log('dropped', v) });
for (const v of [1, 2, 3]) gauge.trySend(v); // dropped 1

// broadcast: every receiver sees every value; one that falls behind is told how much it missed.
const [bus, fast] = broadcast<string>(2);
const slow = bus.subscribe();
for (const block of ['b1', 'b2', 'b3']) {
  bus.send(block); // returns the number of receivers: 2
  console.log('fast got', await fast.recv());
}
console.log('slow got', await slow.recv()); // { ok: false, reason: 'lagged', skipped: 1 }
console.log('slow got', await slow.recv()); // { ok: true, value: 'b2' }

// watch: the latest value only.
const [price, prices] = watch(2000);
price.send(2001);
await prices.changed(); // { ok: true }
console.log('price', prices.borrowAndUpdate()); // 2001
