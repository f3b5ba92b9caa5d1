// Validation of a trader's stop / take-profit / trail edits: a refused edit changes nothing.
import type { PositionSide } from '../core/types.ts';
import { parseLimit } from '../risk/limits.ts';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

export type LevelKind = 'stop_loss' | 'take_profit';
const WORD: Record<LevelKind, string> = { stop_loss: 'stop-loss', take_profit: 'take-profit' };

/**
 * "62000" (a price), "-2%" / "+5%" (from the last price), "2%" (the natural direction: below for a
 * long's stop, above for its take-profit). The result must sit on the right side of the last price.
 */
export function parseLevel(kind: LevelKind, raw: string, side: PositionSide, last: number, show: (x: number) => string): Checked<number> {
  const t = raw.trim();
  if (!(Number.isFinite(last) && last > 0)) return { ok: false, error: 'no price yet for this symbol: try again after the next candle' };
  const m = /^([+-]?)(\d+\.?\d*|\.\d+)(%?)$/.exec(t);
  if (!m) return { ok: false, error: `"${raw}" is neither a price (e.g. 62000) nor a distance (e.g. -2% or +5%)` };
  const n = Number(m[2]);
  let price = n;
  if (m[3] === '%') {
    if (!(n > 0) || n >= 100) return { ok: false, error: `${raw}: a distance must be above 0% and below 100%` };
    const long = side === 'long';
    const down = m[1] === '-' || (m[1] === '' && (kind === 'stop_loss') === long);
    price = last * (1 + (down ? -n : n) / 100);
  } else if (m[1] === '-' || !(n > 0)) return { ok: false, error: `${raw}: a price must be above 0` };
  const below = (kind === 'stop_loss') === (side === 'long');
  if (below ? price >= last : price <= last) {
    return {
      ok: false,
      error: `a ${WORD[kind]} for a ${side} must be ${below ? 'below' : 'above'} the last price ${show(last)} (got ${show(price)}): it would fill at once`,
    };
  }
  return { ok: true, value: price };
}

/** "1.5%" or "off", with the bounds of risk.trailingStopPct (one table for both). */
export function parseTrail(raw: string): Checked<number | null> {
  const r = parseLimit('trailingStopPct', raw);
  if (!r.ok) return { ok: false, error: r.error.replace(/^trailingStopPct/, 'the trail') };
  return { ok: true, value: r.value as number | null };
}
