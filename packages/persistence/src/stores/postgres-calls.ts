/**
 * The PostgreSQL store's calls on its pool: reads, single statements and write transactions,
 * each turning a lost connection into a `StoreUnavailableError` and never leaving a client
 * without an `'error'` listener (pg emits `'error'` on a checked-out client whose connection
 * dies; with no listener that is an uncaught exception that ends the process).
 */
import type { Pool, PoolClient } from 'pg';
import { pgUnavailable } from './unavailable.js';

/** The advisory lock's first key: "trou". The second is derived from the schema. */
const LOCK_NAMESPACE = 0x74726f75;

/** FNV-1a of the schema name, as a signed 32-bit integer. */
function lockKey(schema: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < schema.length; i++) {
    hash ^= schema.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/** Calls on one pool, for the store named `name`, serialized per schema by the advisory lock `lock`. */
export class PostgresCalls {
  private readonly lock: number;

  constructor(
    private readonly pool: Pool,
    private readonly name: string,
    schema: string,
  ) {
    this.lock = lockKey(schema);
  }

  /** A read on the pool (pg's `pool.query` handles the client's errors); a lost connection is typed. */
  async read<R extends object>(text: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, params)).rows;
    } catch (error) {
      throw pgUnavailable(this.name, error, false) ?? error;
    }
  }

  /** One statement in its own (implicit) transaction; resolves to the rows it changed. */
  async autocommit(text: string, params: unknown[]): Promise<number> {
    return this.withClient(async (client, call) => {
      call.committing = true; // the statement is its own commit: once sent, it may have happened
      call.reusable = true; // a statement that fails is rolled back by the server on its own
      return (await client.query(text, params)).rowCount ?? 0;
    });
  }

  /** BEGIN, the schema's write lock, `body`, COMMIT; ROLLBACK on any other error. */
  transaction<T>(body: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (client, call) => {
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, this.lock]);
        const result = await body(client);
        call.committing = true;
        await client.query('COMMIT');
        return result;
      } catch (error) {
        if (pgUnavailable(this.name, error, false) === undefined) {
          try {
            await client.query('ROLLBACK');
            call.reusable = true;
          } catch {
            // The connection is unusable: it is discarded, and the original error reported.
          }
        }
        throw error;
      }
    });
  }

  /**
   * Runs `body` on a client of the pool, listening for its `'error'` event meanwhile: pg emits
   * it when the connection dies, also while a query is in flight, and a checked-out client with
   * no listener would crash the process. An error that means a lost connection becomes a
   * `StoreUnavailableError` (`mayHaveCommitted` once `body` set `committing`). After a failure
   * the client goes back to the pool only if `body` marked it `reusable` and the connection
   * did not die; otherwise the pool destroys it and opens a fresh one when needed.
   */
  private async withClient<T>(body: (client: PoolClient, call: ClientCall) => Promise<T>): Promise<T> {
    const checkout = await this.checkout();
    const { client } = checkout;
    const call: ClientCall = { committing: false, reusable: false };
    let discard: Error | undefined;
    try {
      return await body(client, call);
    } catch (error) {
      const unavailable = pgUnavailable(this.name, error, call.committing, checkout.lost !== undefined);
      if (unavailable !== undefined || !call.reusable) {
        discard = unavailable ?? (error instanceof Error ? error : new Error(String(error)));
      }
      throw unavailable ?? error;
    } finally {
      client.removeListener('error', checkout.onError);
      // Released with an error, the pool destroys the connection instead of reusing it.
      client.release(discard ?? checkout.lost);
    }
  }

  /**
   * A client from the pool with this call's `'error'` listener already on it. The callback form
   * of `pool.connect` matters: the pool takes its own listener off when it hands a client out,
   * and a promise would resume the caller only after the current I/O callback, which may go on
   * to parse the FATAL message of a terminated backend on that very client (pg parses several
   * messages per chunk), with no listener left: an uncaught `'error'`.
   */
  private checkout(): Promise<Checkout> {
    return new Promise<Checkout>((resolve, reject) => {
      this.pool.connect((error, client) => {
        if (error || !client) {
          reject(pgUnavailable(this.name, error, false) ?? error);
          return;
        }
        const checkout: Checkout = {
          client,
          lost: undefined,
          onError: (e: Error) => {
            checkout.lost ??= e;
          },
        };
        client.on('error', checkout.onError);
        resolve(checkout);
      });
    });
  }
}

/** A client checked out for one call, and the connection error it reported meanwhile, if any. */
interface Checkout {
  readonly client: PoolClient;
  lost: Error | undefined;
  readonly onError: (error: Error) => void;
}

/** What a call on a checked-out client tells `withClient` about itself. */
interface ClientCall {
  /** The commit was sent (or the statement is its own commit): a lost answer leaves it unknown. */
  committing: boolean;
  /** After an error, the connection is in a clean state (rolled back) and may be reused. */
  reusable: boolean;
}
