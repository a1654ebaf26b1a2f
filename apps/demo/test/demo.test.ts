import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/main.js';

describe('channel demo', () => {
  it('accounts for every block and event: decoded, received, or reported as lagged', async () => {
    const lines: string[] = [];
    const summary = await runDemo({ blocks: 40, decodeMs: 0, archiveMs: 0, print: (l) => lines.push(l) });
    expect(summary.decoded).toBe(40);
    expect(summary.eventsPublished).toBe(80);
    // The source fills the 8-slot channel synchronously, so it must have waited for the decoder.
    expect(summary.sourceWaits).toBeGreaterThan(0);
    expect(summary.oracleReceived).toBe(80);
    expect(summary.loggerReceived).toBe(80);
    expect(summary.archiverReceived + summary.archiverSkipped).toBe(80);
    expect(lines).toContain('=== summary ===');
  });
});
