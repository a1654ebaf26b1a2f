import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startService } from '../src/embed/service.js';

describe('embedding Troupe in a node:http service', () => {
  it('handlers ask an actor; stopping drains the system and closes the server', async () => {
    const service = startService(0);
    await new Promise<void>((resolve) => service.server.once('listening', () => resolve()));
    const { port, address } = service.server.address() as AddressInfo;
    expect(address).toBe('127.0.0.1');
    const get = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).json();
    expect(await get('/a')).toEqual({ type: 'Hits', path: '/a', count: 1 });
    expect(await get('/a')).toEqual({ type: 'Hits', path: '/a', count: 2 });
    expect(await get('/b')).toEqual({ type: 'Hits', path: '/b', count: 1 });
    await service.stop();
    expect(service.server.listening).toBe(false);
    expect(service.system.lookup('/user/counter')).toBeUndefined();
  });
});
