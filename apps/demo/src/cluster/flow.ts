/**
 * The pipeline of the cluster demo, split across nodes (seed 001's flow):
 *
 *   node-1  source ──publish──> bus (cluster topic "blocks")
 *   node-2  bus ──> decoder ──> price oracle ──publish──> priced (durable topic, JetStream)
 *   node-3  priced ──> detector ──ask──> execution (bounded mailbox) ──ask──> ledger
 *
 * The source's block counter is durable state and the ledger is event-sourced, each on the
 * node's SQLite file, so a node killed and started again goes on where it was. The priced
 * stream is durable: what the oracle publishes while node-3 is down waits in JetStream, and
 * the detector acknowledges an event only once the ledger has recorded it (at-least-once; the
 * ledger skips a block it already has, so each opportunity is executed once).
 */
import { context as otelContext, ROOT_CONTEXT, SpanKind, type Tracer } from '@opentelemetry/api';
import type { Lagged } from '@troupe/actors';
import { type ClusterNode, clusterTopic, durableTopic, serviceKey } from '@troupe/cluster';
import { durableState, Effect, eventSourced, type PersistenceStore } from '@troupe/persistence';
import {
  type ActorContext,
  type ActorRef,
  type ActorSystem,
  type Behavior,
  type Message,
  receive,
  supervisor,
} from '@troupe/runtime';
import type { Role } from './roles.js';

export type NewBlock = { readonly type: 'NewBlock'; readonly number: number; readonly txs: number };
type Decoded = { readonly type: 'Decoded'; readonly block: number; readonly txs: number };
export type Priced = {
  readonly type: 'Priced';
  readonly block: number;
  readonly price: number;
  readonly spread: number;
};
type Executed = { readonly type: 'Executed'; readonly block: number; readonly recorded: boolean };
type Execute = {
  readonly type: 'Execute';
  readonly block: number;
  readonly spread: number;
  readonly replyTo: ActorRef<Executed>;
};
type Record_ = {
  readonly type: 'Record';
  readonly block: number;
  readonly spread: number;
  readonly replyTo: ActorRef<Executed>;
};
type LedgerQuery = { readonly type: 'Count'; readonly replyTo: ActorRef<{ type: 'Count'; count: number }> };
export type LedgerCommand = Record_ | LedgerQuery;

/** Messages every worker accepts from the page: crash it, or slow it down. */
export type Control = { readonly type: 'Crash' } | { readonly type: 'SetDelay'; readonly ms: number };

/** The service key the ledger is registered under (the launcher watches it). */
export const LEDGER = serviceKey<LedgerCommand>('ledger');

/** What the execution engine reports to the source's node after each execution (a remote tell). */
export type Report = { readonly type: 'Report'; readonly block: number; readonly spread: number };
/** The tally of executions on the source's node: the flow's one actor-to-actor hop between nodes. */
export const TALLY = serviceKey<Report>('tally');

/** An opportunity: the price strays more than this from 2000. */
export const SPREAD_THRESHOLD = 5;
/** The oracle's price for a block: deterministic, so a test can count the opportunities. */
export const priceOf = (block: number): number => 2000 + Math.sin(block / 7) * 12;

/** Live counters of this node's part of the flow (this process only). */
export interface FlowCounters {
  blocksPublished: number;
  blocksDelivered: number;
  lagged: number;
  pricedPublished: number;
  opportunitiesPublished: number;
  pricedDelivered: number;
  redelivered: number;
  executed: number;
  /** Ledger entries found by recovery at this process's start. */
  recovered: number;
  /** Execution reports the source's node received (remote tells from the execution node; at most once). */
  tallied: number;
  ledger: number;
}

export interface FlowOptions {
  readonly blockMs: number;
  readonly executeMs: number;
  /** Each block starts a trace (a `block N` span) that follows it through every hop. */
  readonly tracer?: Tracer;
}

export interface Flow {
  readonly counters: FlowCounters;
  /** Paths of the actors the page may crash or slow. */
  readonly workers: readonly string[];
  /** The flow's top supervisor on this node. */
  readonly root: string;
  /** The source (if this node runs it) makes no more blocks. */
  stopSource(): void;
  /** Publishes `count` extra blocks on the bus at once (numbered below zero, unique), to make subscribers lag. */
  flood(count: number): void;
}

const ROOT = '/user/flow';

/** A worker: `handle` plus the page's controls (a crash is a throw; a delay a pause per message). */
function worker<M extends Message>(
  handle: (message: M, ctx: ActorContext<M | Control>) => void | Promise<void>,
): Behavior<M | Control> {
  return receive<number, M | Control>(0, async (delay, m, ctx) => {
    if (m.type === 'Crash') throw new Error('crashed from the page');
    if (m.type === 'SetDelay') return (m as { ms: number }).ms;
    await handle(m as M, ctx);
    if (delay > 0) ctx.pause(delay);
    return delay;
  });
}

export async function startFlow(
  system: ActorSystem,
  node: ClusterNode,
  roles: readonly Role[],
  store: PersistenceStore,
  options: FlowOptions,
): Promise<Flow> {
  const counters: FlowCounters = {
    blocksPublished: 0,
    blocksDelivered: 0,
    lagged: 0,
    pricedPublished: 0,
    opportunitiesPublished: 0,
    pricedDelivered: 0,
    redelivered: 0,
    executed: 0,
    recovered: 0,
    tallied: 0,
    ledger: 0,
  };
  let producing = true;
  const bus = await clusterTopic<NewBlock>(node, 'blocks');
  const priced = await durableTopic<Priced>(node, 'priced');
  const children: { id: string; behavior: Behavior<Message>; mailbox?: { capacity: number } }[] = [];
  const workers: string[] = [];
  const add = (id: string, behavior: Behavior<Message>, capacity?: number, controllable = true) => {
    children.push(capacity === undefined ? { id, behavior } : { id, behavior, mailbox: { capacity } });
    if (controllable) workers.push(`${ROOT}/${id}`);
  };

  if (roles.includes('source')) {
    // The block counter is durable state: a restarted node-1 goes on from the next block.
    type Tick = { readonly type: 'Tick' };
    add(
      'source',
      durableState<Tick, { next: number }>({
        persistenceId: 'source',
        store,
        emptyState: { next: 1 },
        handler: (state, _m, ctx) => {
          if (!producing) return Effect.none();
          const block: NewBlock = { type: 'NewBlock', number: state.next, txs: 1 + (state.next % 4) };
          return Effect.persist({ next: state.next + 1 }, () => {
            const tracer = options.tracer;
            if (tracer === undefined) bus.publish(block);
            else {
              // A trace per block, not one endless trace of ticks.
              tracer.startActiveSpan(
                `block ${block.number}`,
                {
                  root: true,
                  kind: SpanKind.PRODUCER,
                  attributes: { 'troupe.node': node.name, 'troupe.block': block.number },
                },
                (span) => {
                  bus.publish(block);
                  span.end();
                },
              );
            }
            counters.blocksPublished++;
            otelContext.with(ROOT_CONTEXT, () => ctx.self.tell({ type: 'Tick' }));
            ctx.pause(options.blockMs);
          });
        },
        onRecovered: (_s, ctx) => ctx.self.tell({ type: 'Tick' }),
      }) as Behavior<Message>,
      undefined,
      false,
    );
  }

  if (roles.includes('source')) {
    add(
      'tally',
      receive<null, Report>(
        null,
        (st) => {
          counters.tallied++;
          return st;
        },
        {
          onStart: (ctx) => {
            node.register(TALLY, ctx.self);
            return null;
          },
        },
      ) as Behavior<Message>,
      256,
      false,
    );
  }

  if (roles.includes('pricing')) {
    const oracle = () => system.lookup(`${ROOT}/oracle`) as ActorRef<Decoded> | undefined;
    add(
      'decoder',
      receive<null, NewBlock | Lagged | Control>(
        null,
        (s, m) => {
          if (m.type === 'Crash') throw new Error('crashed from the page');
          if (m.type === 'Lagged') counters.lagged += m.missed;
          if (m.type === 'NewBlock') {
            counters.blocksDelivered++;
            oracle()?.tell({ type: 'Decoded', block: m.number, txs: m.txs });
          }
          return s;
        },
        {
          onStart: (ctx) => {
            bus
              .subscribe(ctx.self)
              .catch((err: unknown) => ctx.log.warn({ err }, 'could not subscribe to the bus'));
            return null;
          },
        },
      ) as Behavior<Message>,
      64,
    );
    add(
      'oracle',
      worker<Decoded>(async (m) => {
        const price = priceOf(m.block);
        const spread = Math.abs(price - 2000);
        // Stored in JetStream before the oracle takes its next block; the id makes a retry idempotent.
        await priced.publish({ type: 'Priced', block: m.block, price, spread }, { id: `block-${m.block}` });
        counters.pricedPublished++;
        if (spread > SPREAD_THRESHOLD) counters.opportunitiesPublished++;
      }) as Behavior<Message>,
      64,
    );
  }

  if (roles.includes('execution')) {
    let tally: ActorRef<Report> | undefined;
    node.subscribe(TALLY, (refs) => {
      tally = refs[0];
    });
    const ledgerRef = () => system.lookup(`${ROOT}/ledger`) as ActorRef<LedgerCommand> | undefined;
    const executionRef = () => system.lookup(`${ROOT}/execution`) as ActorRef<Execute> | undefined;
    interface Ledger {
      readonly count: number;
      /** The most recent blocks recorded: a redelivered one is recognised and skipped. */
      readonly recent: readonly number[];
    }
    add(
      'ledger',
      eventSourced<LedgerCommand, { type: 'executed'; block: number; spread: number }, Ledger>({
        persistenceId: 'ledger',
        store,
        emptyState: { count: 0, recent: [] },
        snapshotEvery: 100,
        commandHandler: (state, cmd) => {
          if (cmd.type === 'Count')
            return Effect.none(() => cmd.replyTo.tell({ type: 'Count', count: state.count }));
          if (state.recent.includes(cmd.block)) {
            return Effect.none(() =>
              cmd.replyTo.tell({ type: 'Executed', block: cmd.block, recorded: false }),
            );
          }
          return Effect.persist({ type: 'executed', block: cmd.block, spread: cmd.spread }, (next) => {
            counters.ledger = next.count;
            cmd.replyTo.tell({ type: 'Executed', block: cmd.block, recorded: true });
          });
        },
        eventHandler: (state, event) => ({
          count: state.count + 1,
          recent: [...state.recent.slice(-255), event.block],
        }),
        onRecovered: (state, ctx) => {
          counters.recovered = state.count;
          counters.ledger = state.count;
          node.register(LEDGER, ctx.self);
        },
      }) as Behavior<Message>,
      16,
      false,
    );
    add(
      'execution',
      receive<number, Execute | Control>(0, async (delay, m, ctx) => {
        if (m.type === 'Crash') throw new Error('crashed from the page');
        if (m.type === 'SetDelay') return m.ms;
        ctx.pause(Math.max(delay, options.executeMs));
        const ledger = ledgerRef();
        if (ledger === undefined) throw new Error('the ledger is not running');
        const done = await ledger.ask<Executed>((replyTo) => ({
          type: 'Record',
          block: m.block,
          spread: m.spread,
          replyTo,
        }));
        if (done.recorded) {
          counters.executed++;
          // To the source's node: sent, received, dead-lettered (unreachable while it is down) show on the links.
          tally?.tell({ type: 'Report', block: m.block, spread: m.spread });
        }
        m.replyTo.tell(done);
        return delay;
      }) as Behavior<Message>,
      4,
    );
    add(
      'detector',
      priced.subscriber<null>({
        name: 'detector',
        start: 'all',
        initial: null,
        maxAckPending: 16,
        // What a killed node-3 had received but not acknowledged comes again this soon (the
        // ledger skips a block it already recorded). JetStream's default would be 30 s.
        ackWaitMs: 3000,
        handle: async (s, event, info) => {
          counters.pricedDelivered++;
          if (info.redelivered) counters.redelivered++;
          if (event.spread <= SPREAD_THRESHOLD) return s;
          const execution = executionRef();
          if (execution === undefined) throw new Error('the execution engine is not running');
          // Acknowledged (by returning) only once the ledger has it.
          await execution.ask<Executed>(
            (replyTo) => ({ type: 'Execute', block: event.block, spread: event.spread, replyTo }),
            {
              timeoutMs: 10_000,
            },
          );
          return s;
        },
      }) as Behavior<Message>,
      undefined,
      false,
    );
  }

  system.spawn(
    supervisor({
      strategy: 'oneForOne',
      intensity: { maxRestarts: 20, withinMs: 10_000 },
      children,
    }),
    { name: 'flow' },
  );
  return {
    counters,
    workers,
    root: ROOT,
    stopSource: () => {
      producing = false;
    },
    flood: (count) => {
      const base = Date.now() * 10_000;
      for (let i = 0; i < count; i++) bus.publish({ type: 'NewBlock', number: -(base + i), txs: 1 });
      counters.blocksPublished += count;
    },
  };
}
