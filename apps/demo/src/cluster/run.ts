/** `pnpm demo cluster`: the launcher in the terminal (and the cluster page, unless `--no-web`). */
import { availableParallelism } from 'node:os';
import type { DemoArgs } from '../cli.js';
import { startClusterDemo } from './launcher.js';
import { NatsMissingError } from './nats.js';
import { finalAccounting, nodeLine } from './summary.js';
import { startClusterWeb } from './web.js';

export interface ClusterIo {
  readonly print: (line: string) => void;
  readonly printError: (line: string) => void;
}

/** Runs the cluster demo until `stop` resolves; returns the exit code (1 without nats-server). */
export async function runClusterScenario(
  args: DemoArgs,
  io: ClusterIo,
  stop: (args: DemoArgs) => Promise<void>,
): Promise<number> {
  const nodes = args.nodes ?? Math.max(2, availableParallelism());
  let demo: Awaited<ReturnType<typeof startClusterDemo>>;
  try {
    demo = await startClusterDemo(
      {
        nodes,
        ...(args.nats === undefined ? {} : { nats: args.nats }),
        ...(args.data === undefined ? {} : { dataDir: args.data }),
        ...(args.otlp === undefined ? {} : { otlp: args.otlp }),
        // The nodes' own logs: warnings and errors unless asked for more.
        logLevel: args.logLevel === 'info' ? 'warn' : args.logLevel,
      },
      io.print,
    );
  } catch (error) {
    if (error instanceof NatsMissingError) {
      io.printError(`troupe demo cluster: ${error.message}`);
      return 1;
    }
    throw error;
  }
  io.print(
    `[cluster] ${nodes} node processes in cluster "${demo.cluster}" on ${demo.natsUrl}; SQLite files in ${demo.dataDir}`,
  );
  const web = args.web
    ? await startClusterWeb({ demo, port: args.port }).catch((error: unknown) => {
        io.printError(
          `[web] cannot serve the page on 127.0.0.1:${args.port} (${String((error as { code?: unknown }).code ?? error)}); ` +
            'running without it: pick another port with --port <n>, or --port 0 for a free one',
        );
        return undefined;
      })
    : undefined;
  if (web !== undefined)
    io.print(
      `[web] the cluster at ${web.url}: nodes, trees, links, kill a node and watch its ledger recover`,
    );
  const report = setInterval(() => {
    for (const view of demo.nodes()) io.print(nodeLine(view));
  }, 1000);
  await stop(args);
  clearInterval(report);
  io.print('\nshutting down: the source stops, the pipeline drains, then every node stops gracefully…');
  await web?.close();
  const { states, opportunities } = await demo.stop();
  for (const line of finalAccounting(states, opportunities)) io.print(line);
  return 0;
}
