import { OptionChecks, type OverflowPolicy } from '@troupe/runtime';
import { type Codec, jsonCodec } from './codec.js';
import type { LinkLimits } from './link.js';

/** Options of {@link joinCluster}. Every field is validated before anything connects. */
export interface JoinOptions {
  /** NATS server URLs, e.g. `nats://127.0.0.1:4222`. One string or a non-empty list. */
  readonly servers: string | readonly string[];
  /**
   * The cluster's name: it scopes every NATS subject, so two clusters on one server never see
   * each other. Letters, digits, `-` and `_`; at most 64 characters.
   */
  readonly cluster: string;
  /**
   * This node's name, unique in the cluster (same characters as `cluster`). Default: the
   * system's name plus a random suffix. A node that restarts under the same name is a new
   * incarnation: peers see the old one down and the new one up.
   */
  readonly node?: string;
  /** NATS authentication; passed through to the client. */
  readonly auth?: ClusterAuth;
  /** TLS, passed through to the NATS client (`caFile`, `certFile`, `keyFile`, or inline PEMs). */
  readonly tls?: ClusterTls;
  /** How messages are put on the wire. Default: {@link jsonCodec}. */
  readonly codec?: Codec;
  readonly failureDetector?: FailureDetectorOptions;
  /** Each link to a peer: a bounded outbound buffer. */
  readonly link?: LinkOptions;
  /** Largest encoded message, in bytes (default 512 KiB; never above the server's `max_payload`). */
  readonly maxMessageBytes?: number;
  /** How long a connection attempt may take before `joinCluster` rejects, in ms (default 5000). */
  readonly connectTimeoutMs?: number;
}

/** NATS credentials: exactly one kind. */
export type ClusterAuth =
  | { readonly token: string }
  | { readonly user: string; readonly pass: string }
  /** An nkey seed (`SU…`). */
  | { readonly nkeySeed: string }
  /** The contents of a `.creds` file (JWT and nkey seed), as NATS's tooling writes it. */
  | { readonly creds: string };

/** TLS options passed to the NATS client. */
export interface ClusterTls {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** Heartbeats and the failure detector. */
export interface FailureDetectorOptions {
  /** How often each node announces itself, in ms (default 500). */
  readonly heartbeatMs?: number;
  /** A peer silent this long is declared down (`NodeDown`), in ms (default 2500; > heartbeatMs). */
  readonly downAfterMs?: number;
}

/** The outbound link to each peer. */
export interface LinkOptions {
  /**
   * Messages held for a peer while they cannot be published yet (within a turn, or while the
   * connection to NATS is down). Integer ≥ 1, default 65,536. (What is published and not yet
   * acknowledged is bounded by `windowBytes`.)
   */
  readonly capacity?: number;
  /**
   * What a full link does with one more message, as a mailbox does: `block` (default: `tell`
   * makes it a `mailboxFull` dead letter, `trySend` says `full`, `send` waits for room),
   * `dropNewest`, `dropOldest` (the evicted message is a `dropped` dead letter either way).
   */
  readonly overflow?: Extract<OverflowPolicy, 'block' | 'dropNewest' | 'dropOldest'>;
  /** Messages per NATS message at most (coalescing), integer ≥ 1, default 4096. */
  readonly maxBatch?: number;
  /**
   * The retransmit window: bytes of frames kept until the peer acknowledges them, so they can be
   * resent after a reconnect (integer ≥ 1, default 64 MiB). A peer that falls this far behind
   * makes the link full (its overflow policy applies), as `capacity` does for queued messages.
   */
  readonly windowBytes?: number;
}

/** @internal Options with defaults applied. */
export interface ResolvedJoinOptions {
  readonly servers: string[];
  readonly cluster: string;
  readonly node: string;
  readonly auth: ClusterAuth | undefined;
  readonly tls: ClusterTls | undefined;
  readonly codec: Codec;
  readonly heartbeatMs: number;
  readonly downAfterMs: number;
  readonly link: LinkLimits;
  readonly maxMessageBytes: number;
  readonly connectTimeoutMs: number;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const OVERFLOWS = ['block', 'dropNewest', 'dropOldest'];

/**
 * @internal Throws `TypeError`/`RangeError` naming the bad field (one `InvalidOptionsError` naming
 * each when several are bad); applies defaults.
 */
export function validateJoinOptions(
  options: unknown,
  systemName: string,
  suffix: string,
): ResolvedJoinOptions {
  if (options === null || typeof options !== 'object')
    throw new TypeError('joinCluster: options must be an object');
  const o = options as Record<string, unknown>;
  const checks = new OptionChecks('joinCluster');
  const servers = checks.run(() => {
    const list = typeof o.servers === 'string' ? [o.servers] : o.servers;
    if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s !== '')) {
      throw new TypeError('joinCluster: servers must be a URL or a non-empty list of URLs');
    }
    for (const server of list as string[]) {
      if (!/^(nats|tls|wss?):\/\/[^\s]+$|^[A-Za-z0-9.-]+:\d+$/.test(server)) {
        throw new TypeError(`joinCluster: servers: not a NATS URL: ${JSON.stringify(server).slice(0, 80)}`);
      }
    }
    return list as string[];
  }, []);
  const cluster = checks.run(() => name('cluster', o.cluster), 'x');
  const defaultNode = `${systemName.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40) || 'node'}-${suffix}`;
  const node = o.node === undefined ? defaultNode : checks.run(() => name('node', o.node), defaultNode);
  const auth = checks.run(() => validateAuth(o.auth), undefined);
  const tls = checks.run(() => validateTls(o.tls), undefined);
  const codec = o.codec === undefined ? jsonCodec() : checks.run(() => validateCodec(o.codec), jsonCodec());
  const fd = checks.run(() => object('failureDetector', o.failureDetector), {});
  const heartbeatMs = checks.run(() => ms('failureDetector.heartbeatMs', fd.heartbeatMs, 500, 10), 500);
  const downAfterMs = checks.run(() => ms('failureDetector.downAfterMs', fd.downAfterMs, 2500, 10), 2500);
  checks.run(() => {
    if (downAfterMs <= heartbeatMs) {
      throw new RangeError(
        `joinCluster: failureDetector.downAfterMs (${downAfterMs}) must be greater than heartbeatMs (${heartbeatMs})`,
      );
    }
  }, undefined);
  const link = checks.run(() => object('link', o.link), {});
  const linkCapacity = checks.run(() => integer('link.capacity', link.capacity, 65_536), 65_536);
  const overflow = checks.run(() => {
    const value = link.overflow ?? 'block';
    if (typeof value !== 'string' || !OVERFLOWS.includes(value)) {
      throw new TypeError(
        `joinCluster: link.overflow must be 'block', 'dropNewest' or 'dropOldest'; got ${String(value)}`,
      );
    }
    return value as LinkLimits['overflow'];
  }, 'block');
  const maxBatch = checks.run(() => integer('link.maxBatch', link.maxBatch, 4096), 4096);
  const windowBytes = checks.run(
    () => integer('link.windowBytes', link.windowBytes, 64 * 1024 * 1024),
    64 * 1024 * 1024,
  );
  const maxMessageBytes = checks.run(
    () => integer('maxMessageBytes', o.maxMessageBytes, 512 * 1024),
    512 * 1024,
  );
  const connectTimeoutMs = checks.run(() => ms('connectTimeoutMs', o.connectTimeoutMs, 5000, 1), 5000);
  for (const key of Object.keys(o)) {
    checks.run(() => {
      if (!KNOWN.has(key)) throw new TypeError(`joinCluster: unknown option ${JSON.stringify(key)}`);
    }, undefined);
  }
  checks.done();
  return {
    servers,
    cluster,
    node,
    auth,
    tls,
    codec,
    heartbeatMs,
    downAfterMs,
    link: { capacity: linkCapacity, overflow, maxBatch, windowBytes },
    maxMessageBytes,
    connectTimeoutMs,
  };
}

const KNOWN = new Set([
  'servers',
  'cluster',
  'node',
  'auth',
  'tls',
  'codec',
  'failureDetector',
  'link',
  'maxMessageBytes',
  'connectTimeoutMs',
]);

function name(field: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new TypeError(
      `joinCluster: ${field} must be 1 to 64 letters, digits, '-' or '_'; got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value}`,
    );
  }
  return value;
}

function object(field: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object')
    throw new TypeError(`joinCluster: ${field} must be an object`);
  return value as Record<string, unknown>;
}

function ms(field: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(`joinCluster: ${field} must be a finite number >= ${min}; got ${String(value)}`);
  }
  return value;
}

function integer(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`joinCluster: ${field} must be an integer >= 1; got ${String(value)}`);
  }
  return value;
}

function validateAuth(auth: unknown): ClusterAuth | undefined {
  if (auth === undefined) return undefined;
  if (auth === null || typeof auth !== 'object') throw new TypeError('joinCluster: auth must be an object');
  const a = auth as Record<string, unknown>;
  const kinds = [
    'token' in a && ['token'],
    ('user' in a || 'pass' in a) && ['user', 'pass'],
    'nkeySeed' in a && ['nkeySeed'],
    'creds' in a && ['creds'],
  ].filter((k): k is string[] => k !== false);
  if (kinds.length !== 1) {
    throw new TypeError(
      'joinCluster: auth must be exactly one of { token }, { user, pass }, { nkeySeed }, { creds }',
    );
  }
  for (const field of kinds[0] as string[]) {
    if (typeof a[field] !== 'string' || a[field] === '') {
      throw new TypeError(`joinCluster: auth.${field} must be a non-empty string`);
    }
  }
  return auth as ClusterAuth;
}

function validateTls(tls: unknown): ClusterTls | undefined {
  if (tls === undefined) return undefined;
  const t = object('tls', tls);
  for (const [key, value] of Object.entries(t)) {
    if (!['caFile', 'certFile', 'keyFile', 'ca', 'cert', 'key'].includes(key)) {
      throw new TypeError(`joinCluster: tls: unknown option ${JSON.stringify(key)}`);
    }
    if (typeof value !== 'string' || value === '')
      throw new TypeError(`joinCluster: tls.${key} must be a non-empty string`);
  }
  return t as ClusterTls;
}

function validateCodec(codec: unknown): Codec {
  const c = codec as Partial<Codec> | null;
  if (
    c === null ||
    typeof c !== 'object' ||
    typeof c.encode !== 'function' ||
    typeof c.decode !== 'function'
  ) {
    throw new TypeError('joinCluster: codec must have encode(value, refs) and decode(bytes, refs)');
  }
  return c as Codec;
}
