// The auditor must catch what it exists to catch: a message that ends nowhere.
import { ActorSystem, type Message, receive } from '@troupe/runtime';
import { Auditor, exemptFromAudit, settle } from '@troupe/runtime/testing';
import { describe, expect, it } from 'vitest';
import { LocalRef } from '../src/actor/local-ref.js';

describe('Auditor', () => {
  it('reports an actor whose received messages are not all accounted for, and passes a healthy one', async () => {
    const audit = Auditor.start();
    const system = ActorSystem.start({ name: 'audited' });
    const ref = system.spawn(
      receive<null, Message>(null, (s) => s),
      { name: 'leaky' },
    );
    const healthy = system.spawn(
      receive<null, Message>(null, (s) => s),
      { name: 'healthy' },
    );
    ref.tell({ type: 'a' });
    healthy.tell({ type: 'a' });
    await settle(system);
    (LocalRef.cellOf(ref) as { received: number }).received++; // a message that ended nowhere
    const local = Auditor.start();
    expect(await local.finish()).toEqual([]); // it only sees systems started while it runs
    const problems = await audit.finish();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^audited\/user\/leaky: received 2 but accounted 1/);
    exemptFromAudit(system, 'this test corrupts a counter on purpose to see the auditor catch it');
    await system.shutdown();
  });

  it('exemptFromAudit needs a reason', () => {
    const system = ActorSystem.start({ name: 'why' });
    expect(() => exemptFromAudit(system, ' ')).toThrow(TypeError);
  });
});
