// The PostgreSQL that the store tests use: a local server (127.0.0.1:5432, user postgres, trust
// auth, database `test`), or whatever TROUPE_PG_URL names. Each test works in its own schema.
import pg from 'pg';

/** Where the PostgreSQL tests connect. */
export const PG_TEST_URL = process.env.TROUPE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Why the PostgreSQL tests cannot run here (the server at {@link PG_TEST_URL} does not answer a
 * query within 3 s), or null when they can. Throws in CI: there they must run.
 */
export async function postgresUnavailable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 3000 });
  // A connection that fails after connecting must not become an uncaught error.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    const why = `PostgreSQL at ${redact(PG_TEST_URL)} is unreachable (${error instanceof Error ? error.message : String(error)}): start one (user postgres, trust auth, database test) or set TROUPE_PG_URL to run the PostgreSQL tests`;
    if (process.env.CI) throw new Error(`${why} (CI must run them)`);
    return why;
  } finally {
    await client.end().catch(() => {});
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable TROUPE_PG_URL)';
  }
}
