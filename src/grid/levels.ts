// Grid levels: pure math, no I/O. Level prices are rounded to the venue's price step; a grid whose
// rounded levels collide (too many levels for the range and tick) is refused, never silently thinned.
import { decimalsOf, roundTo } from '../core/num.ts';

export const GRID_SPACINGS = ['arithmetic', 'geometric'] as const;
export type GridSpacing = (typeof GRID_SPACINGS)[number];

/** `levels` prices from `lower` to `upper` inclusive, ascending, each rounded to `tick` (0: unrounded). */
export function gridLevels(lower: number, upper: number, levels: number, spacing: GridSpacing, tick = 0): number[] {
  if (!(lower > 0) || !(upper > lower)) throw new Error(`the grid needs 0 < lower < upper (got ${lower} and ${upper})`);
  if (!Number.isInteger(levels) || levels < 2) throw new Error(`the grid needs at least 2 levels (got ${levels})`);
  const out: number[] = [];
  const ratio = Math.pow(upper / lower, 1 / (levels - 1));
  for (let i = 0; i < levels; i++) {
    const raw =
      i === levels - 1 ? upper : spacing === 'arithmetic' ? lower + ((upper - lower) * i) / (levels - 1) : lower * Math.pow(ratio, i);
    out.push(tick > 0 ? roundTo(Math.round(raw / tick) * tick, decimalsOf(tick)) : raw);
  }
  for (let i = 1; i < out.length; i++) {
    if (!(out[i]! > out[i - 1]!))
      throw new Error(`${levels} levels between ${lower} and ${upper} collide at the price step ${tick}: use fewer levels`);
  }
  return out;
}

/**
 * The entry a flat pair k (levels k and k+1) places at `price`: a buy at level k when that is below the
 * price; with shorts, a sell at level k+1 when the whole pair is above the price, and the pair the price
 * is inside waits (either entry there would be the one closest to the price: the classic skipped level).
 */
export function flatEntry(levels: readonly number[], k: number, price: number, shorts: boolean): 'buy' | 'sell' | null {
  const lo = levels[k]!;
  const hi = levels[k + 1]!;
  if (lo < price && (!shorts || hi < price)) return 'buy';
  if (shorts && lo > price) return 'sell';
  return null;
}
