import type { ExitReason } from '@troupe/runtime';

/** The error of a remote actor that stopped with `{ type: 'error' }`, as its node reported it. */
export class RemoteActorError extends Error {
  override readonly name: string;
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** @internal An exit reason as JSON (an error keeps only its name and message). */
export function encodeReason(reason: ExitReason): Buffer {
  if (reason.type !== 'error') return Buffer.from(JSON.stringify(reason));
  const e = reason.error as { name?: unknown; message?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' ? e.message : String(reason.error);
  return Buffer.from(
    JSON.stringify({ type: 'error', error: { name: name.slice(0, 200), message: message.slice(0, 2000) } }),
  );
}

/** @internal Throws `TypeError` on anything that is not an encoded exit reason. */
export function decodeReason(bytes: Uint8Array): ExitReason {
  if (bytes.length > 8192) throw new TypeError('exit reason too large');
  const r = JSON.parse(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  ) as Record<string, unknown> | null;
  if (r?.type === 'normal' || r?.type === 'shutdown') return { type: r.type };
  if (r?.type === 'nodeDown' && typeof r.node === 'string') return { type: 'nodeDown', node: r.node };
  const e = r?.error as { name?: unknown; message?: unknown } | undefined;
  if (r?.type === 'error' && typeof e?.name === 'string' && typeof e.message === 'string') {
    return { type: 'error', error: new RemoteActorError(e.name, e.message) };
  }
  throw new TypeError('not an exit reason');
}
