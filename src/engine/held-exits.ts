// Exits held back: journaled (status `new`), not sent, until what they must not race is gone — their
// position's stop-loss/take-profit, and the resting exits they replace (on spot those hold the coins).
import type { Order } from '../core/types.ts';

export class HeldExits {
  private orders: Order[] = [];
  /** Held exit → the resting exits it replaces (cancelled for it; it goes once those are gone). */
  private readonly replacing = new Map<string, ReadonlySet<string>>();

  get size(): number {
    return this.orders.length;
  }

  hold(order: Order, replaces?: ReadonlySet<string>): void {
    this.orders.push(order);
    if (replaces !== undefined && replaces.size > 0) this.replacing.set(order.clientOrderId, replaces);
  }

  has(order: Order): boolean {
    return this.orders.includes(order);
  }

  /** The resting exits a held exit replaces. */
  replaces(order: Order): ReadonlySet<string> | undefined {
    return this.replacing.get(order.clientOrderId);
  }

  /** Take `order` out (it goes, or is dropped); false when it was not held. */
  release(order: Order): boolean {
    if (!this.has(order)) return false;
    this.orders = this.orders.filter((o) => o !== order);
    this.replacing.delete(order.clientOrderId);
    return true;
  }

  /** Take out the held exits of `symbol` that are ready. */
  releaseReady(symbol: string, ready: (o: Order) => boolean): Order[] {
    const out = this.orders.filter((o) => o.symbol === symbol && ready(o));
    for (const o of out) this.release(o);
    return out;
  }

  /** Take out every held exit (/flatten). */
  releaseAll(): Order[] {
    const out = this.orders;
    this.orders = [];
    this.replacing.clear();
    return out;
  }
}
