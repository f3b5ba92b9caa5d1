// An exit signal's `fraction` (a scale-out): how much of the position it closes. The rest stays
// protected: the exit is held until the protective orders are cancelled, then coverRest places them
// again for what is left (engine-core releaseHeld → protection.coverRest).
import { floorToStep } from '../core/num.ts';
import { percent } from '../core/format.ts';
import type { MarketInfo, Signal } from '../core/types.ts';
import type { BookPosition } from './portfolio.ts';

/** The quantity to close, or why the signal's fraction is refused (nothing is closed then). */
export function scaleOut(signal: Signal, pos: BookPosition, market: Pick<MarketInfo, 'qtyStep' | 'minQty'>): number | string {
  const f = signal.fraction;
  if (f === undefined || f === 1) return pos.qty;
  if (typeof f !== 'number' || !(f > 0 && f <= 1)) return `an exit's fraction must be above 0 and at most 1 (got ${String(f)})`;
  const min = Math.max(market.minQty, market.qtyStep, 1e-12);
  const qty = floorToStep(pos.qty * f, market.qtyStep);
  if (qty < min) return `${percent(f)} of the position is below the smallest order`;
  // What would be left is too small to sell later (or to protect): close it all now.
  return pos.qty - qty < min ? pos.qty : qty;
}
