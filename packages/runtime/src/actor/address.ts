/**
 * Actor addresses as text: `troupe://<system>[@<node>]<path>[#<id>]`, e.g.
 * `troupe://shop@a/user/orders#V1StGXR8_Z5jdHi6B-myT`. The system and node names are
 * percent-encoded; the path is made of actor names (which need no encoding); the id is
 * percent-encoded. The cluster puts addresses inside messages and reads them back with
 * {@link parseAddress}.
 */

/** The parts of an actor address. */
export interface AddressParts {
  /** The actor system's (or cluster's) name. */
  readonly system: string;
  /** The node inside a cluster; absent for an address of a single-process system. */
  readonly node?: string;
  /** The actor's path, e.g. `/user/orders`. */
  readonly path: string;
  /** The actor's id, when known. */
  readonly id?: string;
}

const SCHEME = 'troupe://';
const SEGMENT = /^[A-Za-z0-9\-_.~:@$]+$/;
/** Longest address accepted by the parser (bounded work on untrusted input). */
const MAX_LENGTH = 4096;

/** Writes an address. Throws `TypeError` on parts that cannot form one. */
export function formatAddress(parts: AddressParts): string {
  const { system, node, path, id } = parts;
  if (typeof system !== 'string' || system === '')
    throw new TypeError('address: system must be a non-empty string');
  checkPath(path);
  const where =
    node === undefined
      ? encodeURIComponent(system)
      : `${encodeURIComponent(system)}@${encodeURIComponent(node)}`;
  return `${SCHEME}${where}${path}${id === undefined ? '' : `#${encodeURIComponent(id)}`}`;
}

/**
 * Reads an address written by {@link formatAddress}. Throws `TypeError` naming what is wrong
 * for anything else (it never evaluates or looks anything up: safe on bytes from the wire).
 */
export function parseAddress(text: string): AddressParts {
  if (typeof text !== 'string' || text.length > MAX_LENGTH || !text.startsWith(SCHEME)) {
    throw new TypeError(
      `not an actor address (expected ${SCHEME}<system>[@<node>]/<path>): ${preview(text)}`,
    );
  }
  const rest = text.slice(SCHEME.length);
  const hash = rest.indexOf('#');
  const body = hash < 0 ? rest : rest.slice(0, hash);
  const slash = body.indexOf('/');
  if (slash <= 0) throw new TypeError(`actor address has no system or path: ${preview(text)}`);
  const authority = body.slice(0, slash);
  const path = body.slice(slash);
  const at = authority.indexOf('@');
  let system: string;
  let node: string | undefined;
  try {
    system = decodeURIComponent(at < 0 ? authority : authority.slice(0, at));
    node = at < 0 ? undefined : decodeURIComponent(authority.slice(at + 1));
  } catch {
    throw new TypeError(`actor address has a badly encoded system or node: ${preview(text)}`);
  }
  if (system === '' || node === '')
    throw new TypeError(`actor address has an empty system or node: ${preview(text)}`);
  checkPath(path);
  let id: string | undefined;
  if (hash >= 0) {
    try {
      id = decodeURIComponent(rest.slice(hash + 1));
    } catch {
      throw new TypeError(`actor address has a badly encoded id: ${preview(text)}`);
    }
  }
  return {
    system,
    ...(node === undefined ? {} : { node }),
    path,
    ...(id === undefined ? {} : { id }),
  };
}

function checkPath(path: unknown): void {
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw new TypeError(`address: path must start with /; got ${preview(path)}`);
  const segments = path.slice(1).split('/');
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || /^\.+$/.test(segment)) {
      throw new TypeError(`address: bad path segment ${JSON.stringify(segment)} in ${preview(path)}`);
    }
  }
}

function preview(value: unknown): string {
  if (typeof value !== 'string') return typeof value;
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
