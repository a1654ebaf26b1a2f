/**
 * The seam where a cluster service plugs into a node (sharding will be one): it hears the
 * node's membership changes in order, as the node itself does, and is closed when the node
 * leaves. A service does its own messaging through the node's public API (refs, the registry,
 * `channel`, `connection`); it never reaches into links or frames.
 *
 * Every callback is guarded: a throw is logged and the node goes on.
 *
 * @internal
 */
export interface NodeService {
  /** For logs. */
  readonly name: string;
  /** A peer incarnation is up (first heard, or back after being declared down). */
  peerUp?(node: string, incarnation: string): void;
  /** A peer incarnation is down or left: what it held is gone. */
  peerGone?(node: string, incarnation: string, how: 'down' | 'left'): void;
  /** The node leaves (or its connection closed for good); awaited before the connection drains. */
  close?(): void | Promise<void>;
}

/** The services attached to one node, called in attach order, each guarded. @internal */
export class Services {
  private readonly attached = new Set<NodeService>();

  constructor(private readonly log: { error(obj: object, msg: string): void }) {}

  attach(service: NodeService): () => void {
    this.attached.add(service);
    return () => this.attached.delete(service);
  }

  peerUp(node: string, incarnation: string): void {
    this.each('peerUp', (s) => s.peerUp?.(node, incarnation));
  }

  peerGone(node: string, incarnation: string, how: 'down' | 'left'): void {
    this.each('peerGone', (s) => s.peerGone?.(node, incarnation, how));
  }

  async close(): Promise<void> {
    for (const service of [...this.attached]) {
      try {
        await service.close?.();
      } catch (error) {
        this.log.error({ err: error, service: service.name }, 'cluster service threw in close');
      }
    }
  }

  private each(what: string, call: (service: NodeService) => unknown): void {
    for (const service of [...this.attached]) {
      try {
        call(service);
      } catch (error) {
        this.log.error({ err: error, service: service.name }, `cluster service threw in ${what}`);
      }
    }
  }
}
