// Runs a strategy over candles with a context that follows its signals, and the reference position loops.
import type { Candle, PositionSide, Signal, SignalAction } from '../../src/core/types.ts';
import type { Strategy } from '../../src/strategy/types.ts';
import { mulberry32 } from './indicator-reference.ts';

export interface Fired {
  i: number;
  action: SignalAction;
}

export interface MutableCtx {
  symbol: string;
  position: PositionSide | null;
  pending: boolean;
  allowShort: boolean;
}

/** Position after a signal, as the engine would leave it (enter_* = be in that direction, exit_* = flat). */
export const positionAfter = (action: SignalAction): PositionSide | null =>
  action === 'enter_long' ? 'long' : action === 'enter_short' ? 'short' : null;

/** Feeds all candles; the ctx position follows the signals. `pendingAt` marks candle indexes with pending = true. */
export function run(
  strategy: Strategy,
  candles: readonly Candle[],
  opts: { allowShort?: boolean; pendingAt?: ReadonlySet<number>; position?: PositionSide | null } = {},
): { fired: Fired[]; signals: Signal[] } {
  const ctx: MutableCtx = { symbol: 'BTCUSDT', position: opts.position ?? null, pending: false, allowShort: opts.allowShort ?? false };
  const fired: Fired[] = [];
  const signals: Signal[] = [];
  for (let i = 0; i < candles.length; i++) {
    ctx.pending = opts.pendingAt?.has(i) ?? false;
    const s = strategy.onCandle(candles[i]!, ctx);
    if (s) {
      fired.push({ i, action: s.action });
      signals.push(s);
      ctx.position = positionAfter(s.action);
    }
  }
  return { fired, signals };
}

/** Random-walk closes (cents) with flat runs of 5–80 identical closes sprinkled in (~1 per 300 candles). */
export function walkWithFlats(n: number, seed: number, start = 30_000): number[] {
  const rnd = mulberry32(seed);
  const out: number[] = [];
  let p = start;
  while (out.length < n) {
    if (rnd() < 0.003) {
      const len = 5 + Math.floor(rnd() * 76);
      for (let k = 0; k < len && out.length < n; k++) out.push(p);
      continue;
    }
    p = Math.round(p * (1 + (rnd() - 0.5) * 0.004) * 100) / 100;
    out.push(p);
  }
  return out;
}

/**
 * Reference for the crossover strategies (sma-cross contract), as a plain loop over precomputed diffs:
 * cross = sign now vs the last non-zero diff before; then the position rules.
 */
export function refCrossSignals(diff: readonly number[], allowShort: boolean): Fired[] {
  const out: Fired[] = [];
  let last: number | undefined;
  let pos: PositionSide | null = null;
  for (let i = 0; i < diff.length; i++) {
    const d = diff[i]!;
    if (Number.isNaN(d)) continue;
    const up = last !== undefined && last < 0 && d > 0;
    const down = last !== undefined && last > 0 && d < 0;
    if (d !== 0) last = d;
    if (up) {
      if (pos === null) {
        out.push({ i, action: 'enter_long' });
        pos = 'long';
      } else if (pos === 'short') {
        out.push({ i, action: allowShort ? 'enter_long' : 'exit_short' });
        pos = allowShort ? 'long' : null;
      }
    } else if (down) {
      if (pos === 'long') {
        out.push({ i, action: allowShort ? 'enter_short' : 'exit_long' });
        pos = allowShort ? 'short' : null;
      } else if (pos === null && allowShort) {
        out.push({ i, action: 'enter_short' });
        pos = 'short';
      }
    }
  }
  return out;
}
