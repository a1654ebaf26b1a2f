import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDemoArgs, USAGE, UsageError } from '../src/cli.js';
import { SAME_SIGNAL_MS, signalMeaning } from '../src/main.js';

describe('demo command line', () => {
  it('defaults: dashboard with the web page on 8080, until Ctrl-C', () => {
    expect(parseDemoArgs([])).toEqual({
      scenario: 'dashboard',
      durationS: undefined,
      web: true,
      port: 8080,
      chaos: false,
      logLevel: 'info',
      seed: 1,
      help: false,
    });
  });

  it('--help names what each scenario shows, without internal names such as "seed 003"', () => {
    expect(USAGE).not.toMatch(/seed \d/i);
    expect(USAGE).toContain('publishers (a simulated web server');
    expect(USAGE).toContain('crash an\n                       actor and watch its supervisor restart it');
    expect(USAGE).toContain('an event pipeline with backpressure');
  });

  it('reads every flag', () => {
    expect(
      parseDemoArgs([
        'pipeline',
        '--duration',
        '5',
        '--no-web',
        '--port',
        '0',
        '--chaos',
        '--log-level',
        'warn',
        '--seed',
        '3',
      ]),
    ).toMatchObject({
      scenario: 'pipeline',
      durationS: 5,
      web: false,
      port: 0,
      chaos: true,
      logLevel: 'warn',
      seed: 3,
    });
    expect(parseDemoArgs(['-h']).help).toBe(true);
  });

  it('reads the cluster flags', () => {
    expect(
      parseDemoArgs([
        'cluster',
        '--nodes',
        '3',
        '--nats',
        'nats://10.0.0.5:4222',
        '--data',
        '/tmp/d',
        '--otlp',
        'http://127.0.0.1:4318/v1/traces',
      ]),
    ).toMatchObject({
      scenario: 'cluster',
      nodes: 3,
      nats: 'nats://10.0.0.5:4222',
      data: '/tmp/d',
      otlp: 'http://127.0.0.1:4318/v1/traces',
    });
    expect(USAGE).toContain('pnpm demo [dashboard|pipeline|cluster]');
  });

  it('accepts the `--` that `pnpm demo -- …` and `pnpm start -- …` pass through', () => {
    expect(parseDemoArgs(['--', '--duration', '1'])).toMatchObject({ durationS: 1, scenario: 'dashboard' });
    expect(parseDemoArgs(['--', '--no-web'])).toMatchObject({ web: false });
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--port', 'abc'], /--port must be a number/],
    [['--port', '70000'], /--port must be a number from 0 to 65535/],
    [['--port', '1.5'], /--port must be an integer/],
    [['--duration=-1'], /--duration must be a number/],
    [['--log-level', 'loud'], /--log-level must be one of/],
    [['sideways'], /unknown scenario "sideways"/],
    [['dashboard', 'pipeline'], /at most one scenario/],
    [['cluster', '--nodes', '0'], /--nodes must be a number from 1 to 16/],
    [['cluster', '--nodes', '2.5'], /--nodes must be an integer/],
    [['cluster', '--nats', 'localhost:4222'], /--nats must be a nats: or tls: or ws: or wss: URL/],
    [['cluster', '--nats', 'not a url'], /--nats must be a URL/],
    [['cluster', '--otlp', 'ftp://x'], /--otlp must be a http: or https: URL/],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parseDemoArgs(argv)).toThrow(UsageError);
    expect(() => parseDemoArgs(argv)).toThrow(message);
  });
});

describe('what a termination signal means', () => {
  it('the first stops gracefully; a copy of it (pnpm forwards the Ctrl-C too) is ignored; a later one exits', () => {
    const meaning = signalMeaning();
    expect(meaning(1000)).toBe('stop');
    expect(meaning(1001)).toBe('same');
    expect(meaning(1000 + SAME_SIGNAL_MS - 1)).toBe('same');
    expect(meaning(1000 + SAME_SIGNAL_MS)).toBe('exit');
  });
});

describe('the demo process', () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const start = (args: string[]) =>
    spawn(process.execPath, ['--import', 'tsx', '--conditions=@troupe/source', main, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('Ctrl-C drains and prints a final summary, then exits 0', async () => {
    const child = start(['--no-web', '--log-level', 'warn']);
    let out = '';
    child.stdout.setEncoding('utf8');
    const summarised = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('[dashboard] === 1s summary ===')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await summarised;
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('shutting down: actors drain their mailboxes');
    expect(out).toMatch(/=== final summary ===\n {2}metrics published: \d+\n/);
    expect(out).toContain('  restarts: none\n  dead letters: 0\n');
  }, 30_000);

  /** Starts the demo, waits for its first output, then sends `signals` (back to back); resolves with how it ended. */
  const interrupt = async (args: string[], signals: NodeJS.Signals[]) => {
    const child = start(args);
    let out = '';
    child.stdout.setEncoding('utf8');
    const firstOutput = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        resolve();
      });
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    await firstOutput;
    for (const signal of signals) child.kill(signal);
    return { ...(await exited), out: () => out };
  };

  it.each([
    ['SIGINT', ['SIGINT']],
    ['SIGTERM', ['SIGTERM']],
  ] as const)(
    '%s right after the first output: graceful shutdown, exit code 0',
    async (_name, signals) => {
      const result = await interrupt(['--no-web'], [...signals]);
      expect(result).toMatchObject({ code: 0, signal: null });
      expect(result.out()).toContain('=== final summary ===');
      expect(result.out()).toContain('  dead letters: 0\n');
    },
    30_000,
  );

  it('a bad flag prints the usage to stderr and exits 2', async () => {
    const child = start(['--bogus']);
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      err += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(err).toContain("troupe demo: Unknown option '--bogus'");
    expect(err).toContain('Usage: pnpm demo');
  }, 30_000);
});
