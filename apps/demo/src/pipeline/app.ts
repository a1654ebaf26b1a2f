/**
 * The pipeline scenario: an event pipeline made of supervised actors:
 *
 *   source ──(backpressured)──> bus: Topic<BusEvent>
 *     bus ──lag──> decoder        decodes each block's transactions
 *     bus ──lag──> price oracle   writes the latest price to a watch channel
 *     bus ──lag──> state updater  keeps the chain head
 *     bus ──block─> detector      reads the latest price; sends opportunities (backpressured) to
 *                   executor      a bounded execution queue (capacity 4) that is deliberately slow
 *
 * When the executor is slow, its queue fills, the detector waits, the bus waits for the
 * detector, and the source waits for the bus: the producer slows down, nothing is dropped.
 *
 * To end without losing blocks in flight, stop the source ({@link PipelineApp.stopSource}),
 * wait for {@link PipelineApp.drained}, then shut down: the executor drains its queue then.
 * (Shutting down at once stops the detector before the bus, and the blocks the bus still
 * holds for it become dead letters, reason `stopped`.)
 */
import { Topic, type TopicMessage, type TopicStats, topic } from '@troupe/actors';
import {
  type ActorRef,
  type ActorSystem,
  type ActorTreeNode,
  type Behavior,
  receive,
  supervisor,
  type WatchReceiver,
  watch,
} from '@troupe/runtime';
import { seededRandom } from '../dashboard/events.js';

export type BusEvent = { readonly type: 'NewBlock'; readonly number: number; readonly txs: number };
type Opportunity = { readonly type: 'Opportunity'; readonly block: number; readonly spread: number };

export interface PipelineOptions {
  /** The source aims for one block per `blockMs` (default 20 ms: 50 blocks/s). */
  readonly blockMs?: number;
  /** The executor spends this long per opportunity (default 100 ms: 10/s, slower than the source). */
  readonly executeMs?: number;
  readonly seed?: number;
}

/** Live counters of the pipeline, read by the 1 s report. */
export interface PipelineStats {
  blocks: number;
  sourceWaits: number;
  decodedBlocks: number;
  decodedTxs: number;
  head: number;
  opportunities: number;
  executed: number;
}

export interface PipelineApp {
  readonly stats: Readonly<PipelineStats>;
  readonly prices: WatchReceiver<number>;
  readonly executor: ActorRef<Opportunity>;
  readonly bus: ActorRef<TopicMessage<BusEvent>>;
  /** The source makes no more blocks (the one it is sending still goes out). */
  stopSource(): void;
  /**
   * After {@link stopSource}: whether every block the source made is on the bus and every
   * subscriber of the bus has received and handled each one (mailboxes empty).
   */
  drained(): boolean;
}

const EXECUTOR_CAPACITY = 4;

export function startPipeline(system: ActorSystem, options: PipelineOptions = {}): PipelineApp {
  const blockMs = options.blockMs ?? 20;
  const executeMs = options.executeMs ?? 100;
  const stats: PipelineStats = {
    blocks: 0,
    sourceWaits: 0,
    decodedBlocks: 0,
    decodedTxs: 0,
    head: 0,
    opportunities: 0,
    executed: 0,
  };
  let producing = true;
  const [priceTx, prices] = watch(2000);
  const random = seededRandom(options.seed ?? 7);
  const find = <M extends { type: string }>(path: string) => system.lookup(path) as unknown as ActorRef<M>;
  const bus = () => find<TopicMessage<BusEvent>>('/user/pipeline/bus');
  const executor = () => find<Opportunity>('/user/pipeline/executor');

  const subscriber = (
    onEvent: (e: BusEvent) => void,
    onFull: 'lag' | 'block' = 'lag',
  ): Behavior<BusEvent | { type: 'Lagged'; missed: number; topic: string }> =>
    receive(
      null,
      (s, m) => {
        if (m.type === 'NewBlock') onEvent(m);
        return s;
      },
      {
        onStart: (ctx) => {
          Topic.subscribe(bus(), ctx.self, { onFull }).catch((err: unknown) =>
            ctx.log.warn({ err }, 'could not subscribe to the bus'),
          );
          return null;
        },
      },
    );

  const source = receive<null, { type: 'Next' }>(
    null,
    (s, _m, ctx) => {
      if (!producing) return s;
      const block: BusEvent = { type: 'NewBlock', number: ++stats.blocks, txs: 1 + Math.floor(random() * 4) };
      if (!bus().trySend(block).ok) {
        stats.sourceWaits++;
        ctx.send(bus(), block); // waits for room before taking its next message
      }
      ctx.self.tell({ type: 'Next' });
      ctx.pause(blockMs);
      return s;
    },
    {
      onStart: (ctx) => {
        ctx.self.tell({ type: 'Next' });
        return null;
      },
    },
  );

  const detector = receive<null, BusEvent | { type: 'Lagged'; missed: number; topic: string }>(
    null,
    (s, m, ctx) => {
      if (m.type !== 'NewBlock') return s;
      const spread = Math.abs(prices.borrow() - 2000);
      if (spread > 5) {
        stats.opportunities++;
        ctx.send(executor(), { type: 'Opportunity', block: m.number, spread });
      }
      return s;
    },
    {
      onStart: (ctx) => {
        Topic.subscribe(bus(), ctx.self, { onFull: 'block' }).catch((err: unknown) =>
          ctx.log.warn({ err }, 'could not subscribe to the bus'),
        );
        return null;
      },
    },
  );

  const executorBehavior = receive<null, Opportunity>(null, (s, _m, ctx) => {
    stats.executed++;
    ctx.pause(executeMs);
    return s;
  });

  system.spawn(
    supervisor({
      strategy: 'restForOne',
      intensity: { maxRestarts: 10, withinMs: 10_000 },
      children: [
        { id: 'bus', start: () => topic<BusEvent>(), mailbox: { capacity: 16 } },
        { id: 'executor', behavior: executorBehavior, mailbox: { capacity: EXECUTOR_CAPACITY } },
        {
          id: 'decoder',
          start: () =>
            subscriber((e) => {
              stats.decodedBlocks++;
              stats.decodedTxs += e.txs;
            }),
        },
        {
          id: 'price-oracle',
          start: () => subscriber((e) => priceTx.send(2000 + Math.sin(e.number / 7) * 12)),
        },
        {
          id: 'state-updater',
          start: () =>
            subscriber((e) => {
              stats.head = Math.max(stats.head, e.number);
            }),
        },
        { id: 'detector', behavior: detector, mailbox: { capacity: 8 } },
        { id: 'source', behavior: source },
      ],
    }),
    { name: 'pipeline' },
  );

  return {
    stats,
    prices,
    get executor() {
      return executor();
    },
    get bus() {
      return bus();
    },
    stopSource() {
      producing = false;
    },
    drained() {
      if (producing) return false;
      const tree = system.tree();
      const node = (path: string) => findNode(tree, path);
      const idle = (path: string) => {
        const n = node(path);
        return n !== undefined && n.mailboxDepth === 0 && n.inFlight === 0;
      };
      const busNode = node('/user/pipeline/bus');
      const details = busNode?.details as TopicStats | undefined;
      if (busNode === undefined || details === undefined || !idle(busNode.path)) return false;
      if (!idle('/user/pipeline/source') || details.published !== stats.blocks) return false;
      return details.subscriptions.every(
        (sub) => sub.delivered + sub.missed === details.published && idle(sub.subscriber),
      );
    },
  };
}

function findNode(node: ActorTreeNode, path: string): ActorTreeNode | undefined {
  if (node.path === path) return node;
  for (const child of node.children) {
    const found = findNode(child, path);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** One line of the 1 s report. */
export function reportLine(app: PipelineApp, system: ActorSystem, seconds: number): string {
  const s = app.stats;
  const queue = system.inspect(app.executor)?.mailboxDepth ?? 0;
  const busDepth = system.inspect(app.bus)?.mailboxDepth ?? 0;
  return (
    `[pipeline] t=${seconds}s blocks=${s.blocks} (source waited ${s.sourceWaits}x) | decoded=${s.decodedBlocks} txs=${s.decodedTxs} head=${s.head}` +
    ` | price=${app.prices.borrow().toFixed(2)} | opportunities=${s.opportunities} executed=${s.executed}` +
    ` | executor queue ${queue}/${EXECUTOR_CAPACITY} | bus queue ${busDepth}/16`
  );
}
