import { ClusterJoinError } from './errors.js';
import type { Heartbeat } from './membership.js';

/**
 * What a joining node waits for before `joinCluster` resolves: answers to its announcement, and
 * each answering node's registrations. See {@link joinCluster}.
 *
 * @internal
 */
export class JoinView {
  private readonly heard = new Map<string, string>();
  private readonly named = new Set<string>();
  private readonly registered = new Set<string>();
  private windowPassed = false;
  private settled = false;
  private readonly timers: ReturnType<typeof setTimeout>[] = [];
  private resolve!: () => void;
  private reject!: (error: unknown) => void;
  readonly ready: Promise<void>;

  constructor(
    private readonly self: string,
    heartbeatMs: number,
    capMs: number,
    private readonly isUp: (node: string, incarnation: string) => boolean,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.timers.push(
      setTimeout(() => {
        this.windowPassed = true;
        this.check();
      }, heartbeatMs),
      setTimeout(() => this.finish(), capMs),
    );
  }

  /** A heartbeat from another node while joining. */
  heartbeat(hb: Heartbeat): void {
    if (this.settled || hb.kind === 'leave') return;
    this.heard.set(hb.node, hb.incarnation);
    for (const peer of hb.peers.keys()) if (peer !== this.self) this.named.add(peer);
    this.check();
  }

  /** A registry update of `node` was applied. */
  registry(node: string, incarnation: string): void {
    if (this.settled) return;
    this.registered.add(`${node}|${incarnation}`);
    this.check();
  }

  /** A heartbeat with this node's name from another incarnation: the join fails. Returns whether still joining. */
  sameName(hb: Heartbeat, cluster: string): boolean {
    if (this.settled) return false;
    this.fail(
      new ClusterJoinError(
        `cannot join cluster ${cluster} as ${this.self}: a live node already has that name (incarnation ${hb.incarnation.slice(0, 64)})`,
      ),
    );
    return true;
  }

  /** Joining must fail (another process has this node's name). */
  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.clear();
    this.reject(error);
  }

  /** Stops waiting (the node is abandoned). */
  clear(): void {
    for (const t of this.timers) clearTimeout(t);
  }

  private check(): void {
    if (this.settled) return;
    const everyoneNamedAnswered = [...this.named].every((n) => this.heard.has(n));
    if (!this.windowPassed && (this.heard.size === 0 || !everyoneNamedAnswered)) return;
    for (const [node, incarnation] of this.heard) {
      if (this.isUp(node, incarnation) && !this.registered.has(`${node}|${incarnation}`)) return;
    }
    this.finish();
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    this.clear();
    this.resolve();
  }
}
