import type { Logger } from '@troupe/runtime';
import { pino } from 'pino';

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'line']);

/**
 * A pino logger whose lines are rendered for a terminal: `[prefix] LEVEL msg key=value …`
 * (structured fields stay structured in pino; only the rendering is human). When a line has a
 * `line` field it is printed as is: the Logger actor uses that for its one-line metric format.
 */
export function terminalLogger(prefix: string, level: string, print: (line: string) => void): Logger {
  return pino(
    { level, name: prefix },
    {
      write(json: string) {
        const record = JSON.parse(json) as Record<string, unknown>;
        if (typeof record.line === 'string') {
          print(`[${prefix}] ${record.line}`);
          return;
        }
        const fields = Object.entries(record)
          .filter(([key]) => !SKIP.has(key))
          .map(([key, value]) => `${key}=${render(value)}`)
          .join(' ');
        print(
          `[${prefix}] ${LEVEL_NAMES[record.level as number] ?? 'LOG'} ${String(record.msg ?? '')}${fields ? ` ${fields}` : ''}`,
        );
      },
    },
  );
}

function render(value: unknown): string {
  if (value !== null && typeof value === 'object' && 'message' in value)
    return JSON.stringify((value as { message: unknown }).message);
  return typeof value === 'string' ? value : JSON.stringify(value);
}
