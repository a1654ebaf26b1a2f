// An entity type for the reminder tests, shared by the test process and the child node: an
// alarm that, told `set`, schedules a durable one-shot reminder, and reports each firing.
import { entityType, type ReminderMessage, type ReminderStore } from '@troupe/cluster';
import { receive } from '@troupe/runtime';

export type AlarmMsg = { type: 'set'; at: number } | ReminderMessage;

export function alarmType(store: ReminderStore, fired: (id: string, dueAt: number, node: string) => void) {
  return entityType<AlarmMsg>('alarm', {
    reminders: store,
    behavior: (entity) =>
      receive<null, AlarmMsg>(null, async (s, m, ctx) => {
        if (m.type === 'set') await entity.reminders.schedule('ring', { at: m.at });
        else fired(entity.entityId, m.dueAt, ctx.system.name);
        return s;
      }),
  });
}
