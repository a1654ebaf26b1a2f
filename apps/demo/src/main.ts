/**
 * Troupe channel demo (until the actor demo lands): seed 001's event bus, made with
 * @troupe/runtime's channels.
 *
 *   block source --mpsc(8), block policy--> decoder (slow)        backpressure: the source waits
 *   decoder --broadcast(16)--> price oracle, trade logger, archiver (slower: lags, and says so)
 *   price oracle --watch--> dashboard (latest price only)
 *
 * Everything sent is accounted for at the end: received, or reported as lagged.
 */
import { type BroadcastReceiver, broadcast, mpsc, watch } from '@troupe/runtime';

type BusEvent =
  | { type: 'NewBlock'; number: number }
  | { type: 'PriceUpdate'; pair: string; price: number; block: number };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface DemoOptions {
  /** Blocks the source produces. */
  blocks: number;
  /** Milliseconds the decoder spends per block (it is the bottleneck). */
  decodeMs: number;
  /** Milliseconds the archiver spends per event (slower than the bus: it lags). */
  archiveMs: number;
  /** Where the report goes. */
  print: (line: string) => void;
}

export interface DemoSummary {
  blocksSent: number;
  sourceWaits: number;
  decoded: number;
  eventsPublished: number;
  oracleReceived: number;
  loggerReceived: number;
  archiverReceived: number;
  archiverSkipped: number;
  lastPrice: number;
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { print } = options;
  const [blockTx, blockRx] = mpsc<{ number: number }>(8);
  const [busTx, oracleRx] = broadcast<BusEvent>(16);
  const loggerRx = busTx.subscribe();
  const archiverRx = busTx.subscribe();
  const [priceTx, priceRx] = watch(0);

  // Source: sends blocks as fast as it can; `send` waits while the decoder is behind.
  const source = (async () => {
    let waits = 0;
    for (let n = 1; n <= options.blocks; n++) {
      const block = { number: n };
      if (!blockTx.trySend(block).ok) {
        waits++;
        await blockTx.send(block);
      }
    }
    blockTx.close();
    return waits;
  })();

  // Decoder: one block at a time, publishes a block event and a price update per block.
  const decoder = (async () => {
    let decoded = 0;
    let published = 0;
    for await (const block of blockRx) {
      await sleep(options.decodeMs);
      decoded++;
      const price = 2000 + Math.round(Math.sin(block.number / 5) * 500) / 10;
      busTx.send(Object.freeze({ type: 'NewBlock', number: block.number }));
      busTx.send(Object.freeze({ type: 'PriceUpdate', pair: 'ETH/USDC', price, block: block.number }));
      published += 2;
    }
    busTx.close();
    return { decoded, published };
  })();

  const consume = async (rx: BroadcastReceiver<BusEvent>, onEvent: (e: BusEvent) => Promise<void> | void) => {
    let received = 0;
    for (;;) {
      const r = await rx.recv();
      if (r.ok) {
        received++;
        await onEvent(r.value);
      } else if (r.reason === 'lagged') {
        print(`[archiver] lagged: skipped ${r.skipped} events`);
      } else {
        return received;
      }
    }
  };

  const oracle = consume(oracleRx, (e) => {
    if (e.type === 'PriceUpdate') priceTx.send(e.price);
  }).finally(() => priceTx.close());
  const logger = consume(loggerRx, (e) => {
    if (e.type === 'NewBlock' && e.number % 10 === 0) print(`[logger] block ${e.number} decoded`);
  });
  const archiver = consume(archiverRx, () => sleep(options.archiveMs));

  // Dashboard: wakes on price changes, sees only the latest.
  const dashboard = (async () => {
    let updates = 0;
    while ((await priceRx.changed()).ok) {
      updates++;
      if (updates % 15 === 0) print(`[dashboard] ETH/USDC ${priceRx.borrowAndUpdate().toFixed(2)}`);
    }
  })();

  const sourceWaits = await source;
  const { decoded, published } = await decoder;
  const [oracleReceived, loggerReceived, archiverReceived] = await Promise.all([oracle, logger, archiver]);
  await dashboard;

  const summary: DemoSummary = {
    blocksSent: options.blocks,
    sourceWaits,
    decoded,
    eventsPublished: published,
    oracleReceived,
    loggerReceived,
    archiverReceived,
    archiverSkipped: archiverRx.skipped,
    lastPrice: priceRx.borrow(),
  };
  print('=== summary ===');
  print(`  source: ${summary.blocksSent} blocks sent, waited ${summary.sourceWaits} times for the decoder`);
  print(`  decoder: ${summary.decoded} blocks decoded, ${summary.eventsPublished} events published`);
  print(`  oracle: ${summary.oracleReceived} events, logger: ${summary.loggerReceived} events`);
  print(
    `  archiver: ${summary.archiverReceived} events + ${summary.archiverSkipped} skipped (lagged) = ${
      summary.archiverReceived + summary.archiverSkipped
    }`,
  );
  print(`  last price: ${summary.lastPrice.toFixed(2)}`);
  return summary;
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  await runDemo({ blocks: 120, decodeMs: 5, archiveMs: 6, print: (line) => console.log(line) });
}
