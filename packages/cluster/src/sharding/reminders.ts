/**
 * Durable reminders (Orleans, Dapr): schedules stored in the persistence store, per shard, that
 * fire on whichever node owns the entity's shard — activating the entity to receive them — even
 * when the entity is passivated or the node that scheduled them died.
 *
 * Storage: one durable state per shard, `troupe-reminders/<type>/<shard>`, JSON
 * `{ [entityId]: { [name]: { due, everyMs? } } }`, written under its revision (optimistic
 * concurrency: a writer that missed a newer write is refused) and tagged with the shard's fence
 * `{ key, epoch }`. NOTE: the stores do not check that fence yet (issue 23), so today a node
 * that lost the shard and has seen no newer write can still change it once. The owner loads
 * it when the shard starts and arms a timer for each reminder; one already due fires at once.
 *
 * **Once per due time.** A reminder fires (the entity gets `{ type: 'reminder', name, dueAt }`),
 * then its next due time is stored (a periodic one) or it is removed (a one-shot). An owner that
 * dies between the two leaves it due, so the next owner fires it again with the same `dueAt`:
 * at least once, and `dueAt` tells the repeat. A periodic reminder that missed several due times
 * (no node owned its shard) fires once, then keeps its period from its original start.
 *
 * @internal
 */

/** What an entity receives when one of its reminders is due. Add it to the entity's message type. */
export interface ReminderMessage {
  readonly type: 'reminder';
  readonly name: string;
  /** When it was due (wall-clock ms): the same on a repeat, to tell one. */
  readonly dueAt: number;
}

/** When a reminder fires: once at `at`, or every `everyMs` (first at `at`, default now + everyMs). */
export type ReminderSchedule =
  | { readonly at: Date | number; readonly everyMs?: undefined }
  | { readonly everyMs: number; readonly at?: Date | number };

/** An entity's durable reminders (`entity.reminders`). */
export interface Reminders {
  /**
   * Schedules reminder `name` (replacing one of that name). Resolves once stored; rejects with
   * `TypeError`/`RangeError` for a bad name or schedule, or when the type has no reminder store,
   * and with the store's error when it cannot store it.
   */
  schedule(name: string, when: ReminderSchedule): Promise<void>;
  /** Cancels reminder `name` (nothing if there is none). Resolves once stored. */
  cancel(name: string): Promise<void>;
}

/** What reminders need of a store: a `PersistenceStore` of `@troupe/persistence` has it. */
export interface ReminderStore {
  loadState(
    persistenceId: string,
  ): Promise<{ readonly revision: number; readonly payload: string } | undefined>;
  write(
    writes: readonly [
      {
        readonly kind: 'state';
        readonly persistenceId: string;
        readonly expectedRevision: number;
        readonly payload: string;
        readonly fence: { readonly key: string; readonly epoch: number };
      },
    ],
  ): Promise<readonly { readonly ok: boolean }[]>;
}

interface Entry {
  due: number;
  everyMs?: number;
}

type Table = Record<string, Record<string, Entry>>;

const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** One shard's reminders on the node that owns it. @internal */
export class ShardReminders {
  private table: Table = Object.create(null) as Table;
  private revision = 0;
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private writes: Promise<void> = Promise.resolve();
  private stopped = false;
  readonly ready: Promise<void>;

  constructor(
    private readonly store: ReminderStore,
    private readonly type: string,
    private readonly shard: number,
    private readonly epoch: number,
    /** Delivers a due reminder to its entity (activating it). */
    private readonly deliver: (id: string, message: ReminderMessage) => void,
    private readonly onError: (error: unknown) => void,
  ) {
    this.ready = this.load();
  }

  private get persistenceId(): string {
    return `troupe-reminders/${this.type}/${this.shard}`;
  }

  /** Schedules `name` for entity `id`. */
  async schedule(id: string, name: string, when: ReminderSchedule): Promise<void> {
    checkName(name);
    const entry = checkSchedule(when);
    await this.ready;
    if (this.stopped) throw new Error(`reminders of shard ${this.type}/${this.shard} moved away`);
    const mine = this.table[id] ?? (Object.create(null) as Record<string, Entry>);
    mine[name] = entry;
    this.table[id] = mine;
    this.arm(id, name, entry);
    await this.persist();
  }

  async cancel(id: string, name: string): Promise<void> {
    checkName(name);
    await this.ready;
    const mine = this.table[id];
    if (mine?.[name] === undefined) return;
    delete mine[name];
    if (Object.keys(mine).length === 0) delete this.table[id];
    this.disarm(id, name);
    await this.persist();
  }

  /** The shard left this node: no more timers here (the next owner loads them). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async load(): Promise<void> {
    try {
      const stored = await this.store.loadState(this.persistenceId);
      if (stored !== undefined) {
        this.revision = stored.revision;
        if (stored.payload !== '') this.table = parseTable(stored.payload);
      }
    } catch (error) {
      this.onError(error);
      return;
    }
    if (this.stopped) return;
    for (const [id, mine] of Object.entries(this.table))
      for (const [name, entry] of Object.entries(mine)) this.arm(id, name, entry);
  }

  private arm(id: string, name: string, entry: Entry): void {
    this.disarm(id, name);
    if (this.stopped) return;
    const delay = Math.max(0, Math.min(entry.due - Date.now(), 2 ** 31 - 1));
    const timer = setTimeout(() => this.fire(id, name), delay);
    timer.unref();
    this.timers.set(`${id}\u0000${name}`, timer);
  }

  private disarm(id: string, name: string): void {
    const key = `${id}\u0000${name}`;
    const t = this.timers.get(key);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(key);
  }

  private fire(id: string, name: string): void {
    this.timers.delete(`${id}\u0000${name}`);
    const entry = this.table[id]?.[name];
    if (entry === undefined || this.stopped) return;
    if (entry.due > Date.now()) {
      this.arm(id, name, entry); // a long delay, re-armed in steps
      return;
    }
    this.deliver(id, { type: 'reminder', name, dueAt: entry.due });
    if (entry.everyMs === undefined) {
      const mine = this.table[id] as Record<string, Entry>;
      delete mine[name];
      if (Object.keys(mine).length === 0) delete this.table[id];
    } else {
      const now = Date.now();
      const missed = Math.max(1, Math.ceil((now - entry.due + 1) / entry.everyMs));
      entry.due += missed * entry.everyMs;
      this.arm(id, name, entry);
    }
    void this.persist().catch((error: unknown) => this.onError(error));
  }

  /** Stores the table (one write at a time, fenced by the shard's epoch). */
  private persist(): Promise<void> {
    const payload = JSON.stringify(this.table);
    const next = this.writes.then(async () => {
      const [result] = await this.store.write([
        {
          kind: 'state',
          persistenceId: this.persistenceId,
          expectedRevision: this.revision,
          payload,
          fence: { key: `${this.type}/${this.shard}`, epoch: this.epoch },
        },
      ]);
      if (result?.ok !== true) {
        this.stop(); // another owner has the shard now
        throw new Error(
          `reminders of shard ${this.type}/${this.shard}: the store refused the write (moved away)`,
        );
      }
      this.revision++;
    });
    this.writes = next.catch(() => {});
    return next;
  }
}

function checkName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name))
    throw new TypeError('reminders: a name is 1 to 128 letters, digits, _ . : or -');
}

function checkSchedule(when: ReminderSchedule): Entry {
  if (when === null || typeof when !== 'object') throw new TypeError('reminders: give { at } or { everyMs }');
  const at = when.at === undefined ? undefined : when.at instanceof Date ? when.at.getTime() : when.at;
  if (at !== undefined && (typeof at !== 'number' || !Number.isFinite(at)))
    throw new RangeError('reminders: at must be a Date or a finite number of ms');
  if (when.everyMs !== undefined) {
    if (typeof when.everyMs !== 'number' || !Number.isFinite(when.everyMs) || when.everyMs < 10)
      throw new RangeError('reminders: everyMs must be a finite number >= 10');
    return { due: at ?? Date.now() + when.everyMs, everyMs: when.everyMs };
  }
  if (at === undefined) throw new TypeError('reminders: give { at } or { everyMs }');
  return { due: at };
}

function parseTable(payload: string): Table {
  const parsed = JSON.parse(payload) as unknown;
  const table = Object.create(null) as Table;
  if (parsed === null || typeof parsed !== 'object') return table;
  for (const [id, mine] of Object.entries(parsed as Record<string, unknown>)) {
    if (mine === null || typeof mine !== 'object') continue;
    const entries = Object.create(null) as Record<string, Entry>;
    for (const [name, e] of Object.entries(mine as Record<string, unknown>)) {
      const entry = e as Partial<Entry> | null;
      if (entry === null || typeof entry.due !== 'number') continue;
      entries[name] =
        typeof entry.everyMs === 'number' ? { due: entry.due, everyMs: entry.everyMs } : { due: entry.due };
    }
    table[id] = entries;
  }
  return table;
}
