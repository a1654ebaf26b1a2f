import { describe, expect, it } from 'vitest';
import { parseDemoArgs, UsageError } from '../src/cli.js';

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

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--port', 'abc'], /--port must be a number/],
    [['--port', '70000'], /--port must be a number from 0 to 65535/],
    [['--port', '1.5'], /--port must be an integer/],
    [['--duration=-1'], /--duration must be a number/],
    [['--log-level', 'loud'], /--log-level must be one of/],
    [['sideways'], /unknown scenario "sideways"/],
    [['dashboard', 'pipeline'], /at most one scenario/],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parseDemoArgs(argv)).toThrow(UsageError);
    expect(() => parseDemoArgs(argv)).toThrow(message);
  });
});
