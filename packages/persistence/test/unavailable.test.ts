/**
 * Which database errors are a StoreUnavailableError (and with which reason and
 * mayHaveCommitted), and which are passed on as the database's own: the classifiers alone.
 * The failure tests make these errors happen for real; this pins the whole table.
 */
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../src/errors.js';
import { pgUnavailable, sqliteUnavailable } from '../src/stores/unavailable.js';

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('sqliteUnavailable', () => {
  it.each([
    ['SQLITE_BUSY', 'busy', false],
    ['SQLITE_BUSY_SNAPSHOT', 'busy', false],
    ['SQLITE_LOCKED', 'busy', false],
    ['SQLITE_READONLY', 'readOnly', false],
    ['SQLITE_READONLY_DBMOVED', 'readOnly', false],
    ['SQLITE_FULL', 'diskFull', false],
    ['SQLITE_IOERR_WRITE', 'io', true],
    ['SQLITE_IOERR_FSYNC', 'io', true],
    ['SQLITE_CANTOPEN', 'io', false],
  ] as const)('%s on a write is %s, mayHaveCommitted %s', (code, reason, mayHaveCommitted) => {
    const error = sqliteUnavailable('sqlite:x', coded(code), true);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ reason, mayHaveCommitted, store: 'sqlite:x' });
    expect(error?.cause).toMatchObject({ code });
    expect(sqliteUnavailable('sqlite:x', coded(code), false)?.mayHaveCommitted).toBe(false); // a read
  });

  it.each(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_ERROR', 'SQLITE_MISMATCH', 'ENOENT'])(
    '%s is the database refusing the data, passed on as it is',
    (code) => {
      expect(sqliteUnavailable('sqlite:x', coded(code), true)).toBeUndefined();
    },
  );

  it('is undefined for errors without a code and for non-errors', () => {
    expect(sqliteUnavailable('sqlite:x', new Error('boom'), true)).toBeUndefined();
    expect(sqliteUnavailable('sqlite:x', 'boom', true)).toBeUndefined();
    expect(sqliteUnavailable('sqlite:x', null, true)).toBeUndefined();
  });
});

describe('pgUnavailable', () => {
  it.each([
    coded('57P01', 'terminating connection due to administrator command'),
    coded('57P02'),
    coded('57P03', 'the database system is starting up'),
    coded('53300', 'sorry, too many clients already'),
    coded('08006'),
    coded('ECONNREFUSED'),
    coded('ECONNRESET'),
    coded('EPIPE'),
    coded('ETIMEDOUT'),
    new Error('Connection terminated unexpectedly'),
    new Error('Client has encountered a connection error and is not queryable'),
    new Error('timeout exceeded when trying to connect'),
    new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], 'connect failed'),
  ])('a lost or refused connection (%s) is unavailable, mayHaveCommitted as told', (cause) => {
    expect(pgUnavailable('postgres:s', cause, false)).toMatchObject({
      reason: 'connection',
      mayHaveCommitted: false,
      cause,
    });
    expect(pgUnavailable('postgres:s', cause, true)?.mayHaveCommitted).toBe(true);
  });

  it.each([
    coded('23505', 'duplicate key value violates unique constraint'),
    coded('P0001', 'boom'),
    coded('40001', 'could not serialize access'),
    coded('42P01', 'relation does not exist'),
    new Error('something else'),
  ])('a refusal of the data (%s) is passed on', (cause) => {
    expect(pgUnavailable('postgres:s', cause, true)).toBeUndefined();
  });

  it('any error on a client whose connection was reported lost is unavailable', () => {
    expect(pgUnavailable('postgres:s', coded('42P01'), false, true)).toMatchObject({ reason: 'connection' });
  });

  it('keeps a StoreUnavailableError as it is', () => {
    const already = new StoreUnavailableError('postgres:s', 'connection', true, { cause: new Error('x') });
    expect(pgUnavailable('postgres:s', already, false)).toBe(already);
  });
});
