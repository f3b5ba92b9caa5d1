// Pyramiding: an entry in the direction of an open position is an add. With pyramiding on it needs
// (except a TWAP's later children) fewer than maxAdds adds so far and the price minStepPct in favour
// since the last add; a strategy's add is the previous add × sizeFactor. The stop is then recomputed for the WHOLE position so that its loss at the stop
// (incl. the add's entry fee and the exit fee) stays within riskPerTrade: the tightest of the
// current stop, the add's own stop and the stop where the whole position loses exactly the budget.
// An add that would need a stop closer than the minimum stop distance is made smaller.
import { counted, percent as fmtPct, plain, price as fmtPrice, qty as fmtQty } from '../core/format.ts';
import type { RiskContext, RiskDecision, RiskIntent, RiskLimits } from './types.ts';
import { reject, type Work } from './entry-rules.ts';
import { RISK_LIMITS } from './limits.ts';

/** The closest a stop may sit to the price: stopLossPct's lower bound (one table). */
const MIN_STOP_GAP = (RISK_LIMITS.stopLossPct as { min: number }).min;

/** The open position this entry adds to, or null when it opens one. */
export function addTarget(intent: RiskIntent, ctx: RiskContext): NonNullable<RiskContext['position']> | null {
  const p = ctx.position;
  if (p === null || !(p.qty > 0)) return null;
  return (p.side === 'long') === (intent.request.side === 'buy') ? p : null;
}

/** maxAdds and the minimum step; TWAP/iceberg children after the first belong to their parent's decision. */
export function rulePyramidGate(lim: RiskLimits, intent: RiskIntent, ctx: RiskContext): RiskDecision | null {
  const p = addTarget(intent, ctx);
  if (p === null || intent.continuation) return null;
  // Off: the engine sends no strategy adds; a trader's manual add is the trader's call (still within the loss budget).
  const h = p.adds;
  if (lim.pyramidMaxAdds === 0 || h === undefined) return null;
  if (h.adds >= lim.pyramidMaxAdds) {
    return reject('pyramiding', `this trade already has ${counted(h.adds, 'add')} (limit ${lim.pyramidMaxAdds})`);
  }
  const moved = p.side === 'long' ? ctx.price / h.lastPrice - 1 : 1 - ctx.price / h.lastPrice;
  if (!(moved >= lim.pyramidMinStepPct - 1e-12)) {
    return reject(
      'pyramiding',
      `the price moved ${fmtPct(moved)} in the ${p.side}'s favour since the last ${h.adds === 0 ? 'entry' : 'add'} at ${fmtPrice(h.lastPrice)} (an add needs ${fmtPct(lim.pyramidMinStepPct)})`,
    );
  }
  return null;
}

/** A strategy's add (no explicit size) with pyramiding on: the previous add × sizeFactor. */
export function sizeAdd(lim: RiskLimits, intent: RiskIntent, ctx: RiskContext, w: Work): void {
  const p = addTarget(intent, ctx);
  if (p === null || w.explicit || lim.pyramidMaxAdds === 0 || p.adds === undefined) return;
  w.quote = false;
  w.size = p.adds.lastQty * lim.pyramidSizeFactor;
  w.start = w.size;
  w.sized = `pyramid add: ${p.adds.adds === 0 ? 'the entry' : 'the last add'} ${fmtQty(p.adds.lastQty)} × ${plain(lim.pyramidSizeFactor)}`;
}

interface Whole {
  s: number;
  q0: number;
  e0: number;
  px: number;
  f: number;
  budget: number;
  /** The loosest stop allowed: the current stop and the add's own, the tighter of the two. */
  floor: number;
  /** The closest stop allowed. */
  closest: number;
}

function whole(lim: RiskLimits, intent: RiskIntent, ctx: RiskContext, w: Work): Whole | null {
  const p = addTarget(intent, ctx);
  if (p === null || p.entryPrice === undefined) return null;
  const s = p.side === 'long' ? 1 : -1;
  const own = Number.isNaN(w.d) ? undefined : w.px * (1 - s * w.d);
  const cur = p.stopLoss;
  if (own === undefined && cur === undefined) return null; // no stop at all: noted at accept, as for any entry
  const floor = own === undefined ? cur! : cur === undefined ? own : s > 0 ? Math.max(own, cur) : Math.min(own, cur);
  return {
    s,
    q0: p.qty,
    e0: p.entryPrice,
    px: w.px,
    f: w.fee,
    budget: ctx.equity * lim.riskPerTrade,
    floor,
    closest: w.px * (1 - s * MIN_STOP_GAP),
  };
}

/** The whole position's loss if stopped at `stop` after adding `q` at the price. */
export const lossAt = (x: Whole, q: number, stop: number): number =>
  x.s * (x.q0 * (x.e0 - stop) + q * (x.px - stop)) + x.f * (q * x.px + (x.q0 + q) * stop);

/** The stop at which the whole position (after adding q) loses exactly the budget. */
const budgetStop = (x: Whole, q: number): number =>
  (x.s * x.q0 * x.e0 + x.s * q * x.px + x.f * q * x.px - x.budget) / ((x.q0 + q) * (x.s - x.f));

const tighter = (x: Whole, a: number, b: number): number => (x.s > 0 ? Math.max(a, b) : Math.min(a, b));

/** Base quantity of the add (a quote spend converted at the price incl. fee). */
const baseQty = (w: Work): number => (w.quote ? w.size / (w.px * (1 + w.fee)) : w.size);

/**
 * In place of the per-order max-loss rule for adds: the add shrinks until the whole position's stop
 * can sit at least the minimum stop distance from the price. Null when this entry is no add (or has no stop).
 */
export function rulePyramidLoss(lim: RiskLimits, intent: RiskIntent, ctx: RiskContext, w: Work): RiskDecision | null | 'not_add' {
  const x = whole(lim, intent, ctx, w);
  if (x === null) return addTarget(intent, ctx) === null ? 'not_add' : null;
  const q = baseQty(w);
  if (tighter(x, budgetStop(x, q), x.closest) === x.closest) return null; // the stop can stay far enough away
  const unit = x.s * (x.px - x.closest) + x.f * (x.px + x.closest);
  const room = x.budget - (x.s * x.q0 * (x.e0 - x.closest) + x.f * x.q0 * x.closest);
  if (!(room > 0)) {
    return reject(
      'max_loss_per_trade',
      `the open position alone would lose more than ${fmtPct(lim.riskPerTrade)} of equity with its stop ${fmtPct(MIN_STOP_GAP)} from the price: no room to add`,
    );
  }
  const fit = room / unit;
  const size = w.quote ? fit * w.px * (1 + w.fee) : fit;
  const note = `the whole position's stop would have to sit closer than ${fmtPct(MIN_STOP_GAP)} to the price to keep its loss within ${fmtPct(lim.riskPerTrade)} of equity`;
  w.size = size;
  w.rule = 'max_loss_per_trade';
  w.resized = true;
  w.notes = w.notes === '' ? note : `${w.notes}; ${note}`;
  w.lastNote = note;
  return null;
}

/** The accepted add's stop for the whole position, and the verdict's words for it. */
export function finishAdd(lim: RiskLimits, intent: RiskIntent, ctx: RiskContext, w: Work, d: RiskDecision): RiskDecision {
  if (d.action === 'reject') return d;
  const x = whole(lim, intent, ctx, w);
  if (x === null) return d;
  const q = baseQty(w);
  const stop = tighter(x, x.floor, budgetStop(x, q));
  const loss = lossAt(x, q, stop);
  d.stopLoss = stop;
  d.reason += `; add to the ${x.s > 0 ? 'long' : 'short'}: stop for the whole position ${fmtPrice(stop)}, loss there ${fmtPct(Math.max(0, loss) / ctx.equity)} of equity (limit ${fmtPct(lim.riskPerTrade)})`;
  return d;
}
