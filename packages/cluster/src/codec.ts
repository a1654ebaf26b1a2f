import type { ActorRef, Message } from '@troupe/runtime';

/**
 * How refs inside messages cross the wire; the cluster hands one to its codec. A codec must
 * encode every ref it meets with `encodeRef` and turn those addresses back with `decodeRef`.
 */
export interface RefCodec {
  /** The cluster-wide address of `value` if it is an actor ref, else `undefined`. */
  encodeRef(value: object): string | undefined;
  /** A ref that works on this node for `address`. Throws `TypeError` on a bad address. */
  decodeRef(address: string): ActorRef<Message>;
}

/**
 * Puts message values on the wire and back. `encode` throws (any error) for a value it cannot
 * encode; the cluster turns that into a `MessageEncodeError` at the send site. `decode` throws
 * for bytes it cannot decode; the cluster turns that into an `invalid` dead letter. `decode`
 * runs on bytes from the network: it must be bounded, and must never execute anything or use
 * what it reads as a property path.
 */
export interface Codec {
  /** Shown in logs and errors. */
  readonly name: string;
  encode(value: unknown, refs: RefCodec): Uint8Array | string;
  decode(bytes: Uint8Array, refs: RefCodec): unknown;
}

const REF_KEY = '$ref';

/**
 * The default codec: JSON (UTF-8). Refs become `{ "$ref": "troupe://cluster@node/path#id" }`,
 * so `$ref` is reserved as a key. Encodes plain objects, arrays, strings, finite numbers,
 * booleans and `null` (`undefined` properties are left out, as JSON does). Refuses, with an
 * error naming the value's kind: functions, symbols, bigints, non-finite numbers, cycles, and
 * instances of classes (`Date`, `Map`, `Set`, your own) other than refs — convert them first,
 * so nothing arrives changed. Decoding drops `__proto__` keys.
 */
export function jsonCodec(): Codec {
  return {
    name: 'json',
    encode(value, refs) {
      return JSON.stringify(value, function (this: Record<string, unknown>, key, encoded: unknown) {
        const original = this[key];
        if (typeof original === 'object' && original !== null) {
          const address = refs.encodeRef(original);
          if (address !== undefined) return { [REF_KEY]: address };
          const proto = Object.getPrototypeOf(original);
          if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) {
            throw new TypeError(`a ${kindOf(original)} is not plain data (convert it first)`);
          }
          if (!Array.isArray(original) && Object.hasOwn(original, REF_KEY)) {
            throw new TypeError(`"${REF_KEY}" is a reserved key`);
          }
          return encoded;
        }
        if (typeof original === 'function') throw new TypeError('a function cannot be sent');
        if (typeof original === 'symbol') throw new TypeError('a symbol cannot be sent');
        if (typeof original === 'number' && !Number.isFinite(original)) {
          throw new TypeError(`${original} cannot be sent as JSON`);
        }
        return encoded;
      });
    },
    decode(bytes, refs) {
      const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
      if (!text.includes('"$ref"') && !text.includes('"__proto__"')) return JSON.parse(text);
      return JSON.parse(text, (key, value: unknown) => {
        if (key === '__proto__') return undefined;
        if (
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.hasOwn(value, REF_KEY)
        ) {
          const address = (value as Record<string, unknown>)[REF_KEY];
          if (typeof address !== 'string' || Object.keys(value).length !== 1) {
            throw new TypeError('a "$ref" object must hold only an address string');
          }
          return refs.decodeRef(address);
        }
        return value;
      });
    },
  };
}

function kindOf(value: object): string {
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor
    ?.name;
  return typeof name === 'string' && name !== '' ? name : 'class instance';
}
