import { like } from 'drizzle-orm';
import type { Order } from '../core/types.ts';
import type { Journal } from '../journal/journal.ts';
import { orders } from '../journal/schema.ts';

/** A grid's journaled level orders (`<prefix><pair>-<generation>`), in generation order per pair. */
export function gridOrders(journal: Journal, prefix: string): Array<{ k: number; gen: number; order: Order }> {
  const rows = journal.db
    .select({ id: orders.clientOrderId })
    .from(orders)
    .where(like(orders.clientOrderId, `${prefix}%`))
    .all();
  const out: Array<{ k: number; gen: number; order: Order }> = [];
  for (const { id } of rows) {
    if (!id.startsWith(prefix)) continue; // LIKE treats '_' as a wildcard
    const m = /^(\d+)-(\d+)$/.exec(id.slice(prefix.length));
    const order = m ? journal.getOrder(id) : undefined;
    if (m && order) out.push({ k: Number(m[1]), gen: Number(m[2]), order });
  }
  return out.sort((a, b) => a.k - b.k || a.gen - b.gen);
}
