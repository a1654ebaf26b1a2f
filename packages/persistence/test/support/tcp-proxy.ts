/**
 * A TCP proxy in front of a real server, for network faults the server itself cannot be asked
 * for: cut every connection (a network cut, a server restart as the client sees it), refuse
 * new ones (a server that is down), and drop the answer to one request (a commit whose reply
 * was lost). Everything else passes through unchanged.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

interface Link {
  readonly client: Socket;
  readonly server: Socket;
}

export class TcpProxy {
  private readonly links = new Set<Link>();
  private server: Server;
  private armed: { pattern: Buffer; deliver: boolean; hit: () => void } | null = null;

  private constructor(
    private readonly target: { readonly host: string; readonly port: number },
    readonly port: number,
    server: Server,
  ) {
    this.server = server;
  }

  /** Listens on 127.0.0.1 (a free port) and forwards to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const placeholder = createServer();
    await new Promise<void>((resolve) => placeholder.listen(0, '127.0.0.1', resolve));
    const port = (placeholder.address() as { port: number }).port;
    await new Promise<void>((resolve) => placeholder.close(() => resolve()));
    const proxy = new TcpProxy(target, port, createServer());
    await proxy.resume();
    return proxy;
  }

  /** Connections currently open through the proxy. */
  get connections(): number {
    return this.links.size;
  }

  /** Destroys every open connection, both ways, at once. */
  cut(): void {
    for (const link of this.links) this.drop(link);
  }

  /** Refuses new connections (ECONNREFUSED) and cuts the open ones: the server is down. */
  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Accepts connections again on the same port: the server is back. */
  async resume(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /**
   * The next client chunk that contains `pattern` is forwarded to the server (or not, with
   * `deliver: false`); then that connection is destroyed before any answer reaches the client.
   * Resolves once that happened.
   */
  loseAnswerTo(pattern: string, options: { deliver: boolean }): Promise<void> {
    return new Promise<void>((resolve) => {
      this.armed = { pattern: Buffer.from(pattern), deliver: options.deliver, hit: resolve };
    });
  }

  async close(): Promise<void> {
    await this.stop().catch(() => {});
  }

  private accept(client: Socket): void {
    const server = tcpConnect(this.target.port, this.target.host);
    const link: Link = { client, server };
    this.links.add(link);
    let answered = true; // false while an armed request waits for its (dropped) answer
    client.on('data', (chunk: Buffer) => {
      const armed = this.armed;
      if (armed !== null && chunk.includes(armed.pattern)) {
        this.armed = null;
        answered = false;
        if (armed.deliver) server.write(chunk);
        else this.drop(link);
        if (armed.deliver) {
          // Wait for the server's answer, then cut instead of passing it on.
          server.once('data', () => {
            this.drop(link);
            armed.hit();
          });
        } else armed.hit();
        return;
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (answered) client.write(chunk);
    });
    const end = () => this.drop(link);
    client.on('error', end);
    server.on('error', end);
    client.on('close', end);
    server.on('close', end);
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    link.client.destroy();
    link.server.destroy();
  }
}
