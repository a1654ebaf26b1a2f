/**
 * Makes sure the browser test has a Chromium to drive: the one place that knows how to get it.
 *
 * - **Found.** `TROUPE_CHROMIUM` if set, else Debian's `/usr/bin/chromium`: nothing printed.
 * - **Missing, and we can install it.** As root on a machine with `apt-get` (the project's kind:
 *   Debian bookworm), runs `apt-get update` and `apt-get install --no-install-recommends
 *   chromium` once, printing one line before (it takes a minute) and nothing else on success.
 *   Never a downloaded Playwright browser: playwright-core drives Debian's build.
 * - **Otherwise** the result says exactly what to run (or `TROUPE_SKIP_BROWSER=1` to skip).
 *
 * Idempotent: a second call finds what the first installed. Used by
 * `apps/demo/test/web-browser.test.ts`; also a command, `node --import tsx test/support/ensure-chromium.ts`
 * (exit code 1 with the message when Chromium cannot be had), which `.ci/run` uses.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export type ChromiumResult =
  | { readonly ok: true; readonly path: string; readonly installed: boolean }
  | { readonly ok: false; readonly message: string };

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';
const INSTALL =
  'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium';
const SKIP = 'or set TROUPE_SKIP_BROWSER=1 to skip the browser test';

const run = promisify(execFile);

export async function ensureChromium(
  options: { readonly print?: (line: string) => void; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<ChromiumResult> {
  const env = options.env ?? process.env;
  const print = options.print ?? ((line: string) => process.stderr.write(`${line}\n`));
  const wanted = env.TROUPE_CHROMIUM;
  if (wanted !== undefined && wanted !== '') {
    if (existsSync(wanted)) return { ok: true, path: wanted, installed: false };
    return {
      ok: false,
      message: `TROUPE_CHROMIUM=${wanted} does not exist; unset it to use ${DEBIAN_CHROMIUM}`,
    };
  }
  if (existsSync(DEBIAN_CHROMIUM)) return { ok: true, path: DEBIAN_CHROMIUM, installed: false };

  const aptGet = ['/usr/bin/apt-get', '/bin/apt-get'].find((p) => existsSync(p));
  if (aptGet === undefined)
    return {
      ok: false,
      message: `${DEBIAN_CHROMIUM} not found and there is no apt-get here. Install Chromium and set TROUPE_CHROMIUM=<its path>, ${SKIP}.`,
    };
  if (process.getuid?.() !== 0)
    return {
      ok: false,
      message: `${DEBIAN_CHROMIUM} not found. Install Debian's Chromium as root: sudo sh -c '${INSTALL}' — ${SKIP}.`,
    };

  print(
    `[browser test] ${DEBIAN_CHROMIUM} not found: installing Debian's chromium with apt-get (once, about a minute)…`,
  );
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await run(aptGet, ['update', '-qq'], { env: aptEnv, maxBuffer: 16 * 1024 * 1024 });
    await run(aptGet, ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], {
      env: aptEnv,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message).trim();
    return {
      ok: false,
      message: `installing Chromium failed (${stderr.split('\n').slice(-3).join(' | ')}). Run: ${INSTALL} — ${SKIP}.`,
    };
  }
  if (!existsSync(DEBIAN_CHROMIUM))
    return {
      ok: false,
      message: `apt-get installed chromium but ${DEBIAN_CHROMIUM} is still missing. ${SKIP}.`,
    };
  return { ok: true, path: DEBIAN_CHROMIUM, installed: true };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await ensureChromium();
  if (!result.ok) {
    process.stderr.write(`${result.message}\n`);
    process.exit(1);
  }
}

/** How the browser tests launch Debian's Chromium: headless, no sandbox (root in CI), nothing fetched from the network. */
export const CHROMIUM_ARGS: string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
