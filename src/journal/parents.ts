import { and, desc, eq, like } from 'drizzle-orm';
import type { Order } from '../core/types.ts';
import type { Journal } from './journal.ts';
import { orders, parentOrders } from './schema.ts';

export type ParentRow = typeof parentOrders.$inferSelect;
export type ParentStatus = ParentRow['status'];

/** The id of slice `n` (1-based) of a parent: derived, so a restart can tell whether it was already journaled. */
export const childOrderId = (parentId: string, n: number): string => `${parentId}-${n}`;
/** The parent id of a child's client order id (`<parent>-<n>`); undefined for an id of no such shape. */
export const parentIdOf = (clientOrderId: string): string | undefined => /^(.+)-\d+$/.exec(clientOrderId)?.[1];

/**
 * TWAP/iceberg parents in the journal (their children are ordinary `orders` rows). A journal that keeps
 * no orders (`fills` detail: backtests) has the children handed over in memory (`placed`) instead.
 */
export class ParentJournal {
  private readonly unjournaled: Map<string, Order[]> | null;

  constructor(private readonly journal: Journal) {
    this.unjournaled = journal.detail === 'full' ? null : new Map();
  }

  /** A child went out (the executor's own object: the engine updates it as it fills). */
  placed(parentId: string, child: Order): void {
    if (this.unjournaled === null) return;
    const kids = this.unjournaled.get(parentId);
    if (kids) kids.push(child);
    else this.unjournaled.set(parentId, [child]);
  }

  insert(p: typeof parentOrders.$inferInsert): void {
    this.journal.tx(() => this.journal.db.insert(parentOrders).values(p).run());
  }

  get(id: string): ParentRow | undefined {
    return this.journal.db.select().from(parentOrders).where(eq(parentOrders.id, id)).get();
  }

  active(): ParentRow[] {
    return this.journal.db.select().from(parentOrders).where(eq(parentOrders.status, 'active')).all();
  }

  recent(limit: number): ParentRow[] {
    return this.journal.db.select().from(parentOrders).orderBy(desc(parentOrders.createdAt)).limit(limit).all();
  }

  update(id: string, patch: Partial<Pick<ParentRow, 'sent' | 'nextAt' | 'status' | 'reason'>>, ts: number): void {
    this.journal.tx(() =>
      this.journal.db
        .update(parentOrders)
        .set({ ...patch, updatedAt: ts })
        .where(and(eq(parentOrders.id, id)))
        .run(),
    );
  }

  /** The children journaled for a parent, in slice order. */
  children(parentId: string): Order[] {
    if (this.unjournaled !== null) return this.unjournaled.get(parentId) ?? [];
    const ids = this.journal.db
      .select({ id: orders.clientOrderId })
      .from(orders)
      .where(like(orders.clientOrderId, `${parentId}-%`))
      .all();
    return ids
      .filter((r) => r.id.startsWith(`${parentId}-`)) // LIKE treats '_' in a bot id as a wildcard
      .map((r) => this.journal.getOrder(r.id))
      .filter((o): o is Order => o !== undefined)
      .sort((a, b) => a.createdAt - b.createdAt);
  }
}
