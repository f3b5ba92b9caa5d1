import { decimal } from '../core/format.ts';
import type { RiskLimits } from './types.ts';

// Volatility sizing: the position whose loss over `multiple` typical moves (stdev of 1-bar returns)
// is the per-trade risk budget. The stop-based max-loss rule still caps it afterwards.

/** Base quantity, or null while the volatility is unknown (not enough bars yet). */
export function volatilityQty(equity: number, riskPerTrade: number, price: number, vol: number | null, multiple: number): number | null {
  if (vol === null || !(vol > 0) || !(price > 0)) return null;
  return (equity * riskPerTrade) / (price * vol * multiple);
}

// Confidence sizing: a model signal's size (from any mode above) times floor + (1 − floor) × confidence.
// The scale is at most 1 and applied before the size limits, so they all still cap the result.

/** The factor for this confidence, or null when the size is not scaled (off, or the signal has none). */
export function confidenceScale(
  lim: Pick<RiskLimits, 'confidenceSizing' | 'confidenceFloor'>,
  confidence: number | undefined,
): number | null {
  if (lim.confidenceSizing === 'off' || confidence === undefined) return null;
  const c = clamp01(confidence);
  const floor = clamp01(lim.confidenceFloor);
  return Math.min(1, floor + (1 - floor) * c);
}

/** NaN (a model's bad output) counts as no confidence at all: the smallest scale, never a bigger size. */
const clamp01 = (x: number): number => (x > 0 ? Math.min(1, x) : 0);

/** The sizing scratch the risk engine keeps: the size before the limits and its words. */
interface Sized {
  size: number;
  sized: string;
  explicit: boolean;
}

/**
 * Scales a size the sizing mode chose (an explicit qty is the trader's, never scaled) by the signal's
 * confidence and says so in the verdict's words; returns the size.
 */
export function scaleByConfidence(
  w: Sized,
  lim: Pick<RiskLimits, 'confidenceSizing' | 'confidenceFloor'>,
  confidence: number | undefined,
): number {
  const k = w.explicit ? null : confidenceScale(lim, confidence);
  if (k === null) return w.size;
  w.size *= k;
  w.sized += ` × ${decimal(k, 2)} for confidence ${decimal(clamp01(confidence!), 2)}`;
  return w.size;
}
