import type { Message } from '../actor-ref.js';
import { validateName } from '../spawn-options.js';
import type { ActorCell } from './actor-cell.js';

/**
 * An actor's children by name, in start order (Pekko's `dungeon/Children`). Generated names
 * are `$0`, `$1`, … in base 36; user names may not start with `$`.
 *
 * @internal Not exported from the package.
 */
export class Children {
  private readonly byName = new Map<string, ActorCell<Message>>();
  private generated = 0;

  /** A free name for a new child: `requested` (validated) or a generated one. Throws `TypeError` on a bad or taken name. */
  claim(requested: string | undefined, parentPath: string): string {
    const name = requested === undefined ? `$${(this.generated++).toString(36)}` : validateName(requested);
    if (this.byName.has(name)) {
      throw new TypeError(`an actor named "${name}" already exists under ${parentPath || '/'}`);
    }
    return name;
  }

  add(cell: ActorCell<Message>): void {
    this.byName.set(cell.name, cell);
  }

  remove(cell: ActorCell<Message>): void {
    if (this.byName.get(cell.name) === cell) this.byName.delete(cell.name);
  }

  get(name: string): ActorCell<Message> | undefined {
    return this.byName.get(name);
  }

  /** In start order (a copy: stopping a child removes it while callers iterate). */
  list(): ActorCell<Message>[] {
    return [...this.byName.values()];
  }
}
