// Synthetic shocks for stress tests, applied to real candles. Pure functions: same input, same output.
import type { Candle } from '../core/types.ts';
import type { FundingRate } from './data.ts';

export const CANDLE_SHOCKS = ['gap_down', 'flash_crash', 'double_vol'] as const;
export type CandleShock = (typeof CANDLE_SHOCKS)[number];

export interface ShockSpec {
  kind: CandleShock;
  /** When it hits (Unix ms): the first candle at or after it. */
  at: number;
  /** gap_down: the gap (default 0.3); flash_crash: the fall at the bottom (default 0.25). */
  depth?: number;
}

const HOUR = 3_600_000;
const WEEK = 7 * 86_400_000;

/**
 * - gap_down: every price from `at` on is (1 − depth) × the real one: the market opens 30 % lower.
 * - flash_crash: a V over the hour from `at` (or the one candle holding it, on hourly and longer
 *   candles): down `depth` at the half hour, back where it was by the end of the hour.
 * - double_vol: for a week from `at`, every candle's move from the previous close is doubled (log
 *   returns × 2); later candles keep their real moves from the level that leaves.
 */
export function applyShock(candles: readonly Candle[], s: ShockSpec, tfMs: number): Candle[] {
  switch (s.kind) {
    case 'gap_down': {
      const k = 1 - (s.depth ?? 0.3);
      return candles.map((c) => (c.ts >= s.at ? scale(c, k, k, k, k) : c));
    }
    case 'flash_crash': {
      const depth = s.depth ?? 0.25;
      const span = Math.max(HOUR, tfMs);
      const f = (t: number): number => {
        const p = Math.min(1, Math.max(0, (t - s.at) / span));
        return 1 - depth * (1 - Math.abs(2 * p - 1));
      };
      return candles.map((c) => {
        if (c.ts + tfMs <= s.at || c.ts >= s.at + span) return c;
        const fo = f(c.ts);
        const fc = f(c.ts + tfMs);
        const mid = s.at + span / 2;
        const fmin = c.ts <= mid && mid <= c.ts + tfMs ? 1 - depth : Math.min(fo, fc);
        return scale(c, fo, Math.max(fo, fc), fmin, fc);
      });
    }
    case 'double_vol': {
      const out: Candle[] = [];
      let prevReal = NaN;
      let prevNew = NaN;
      for (const c of candles) {
        const inside = c.ts >= s.at && c.ts < s.at + WEEK;
        if (!inside || !(prevReal > 0)) {
          const k = prevReal > 0 && c.ts >= s.at ? prevNew / prevReal : 1;
          const n = k === 1 ? c : scale(c, k, k, k, k);
          out.push(n);
        } else {
          const sq = (x: number): number => prevNew * (x / prevReal) ** 2;
          out.push({ ts: c.ts, open: sq(c.open), high: sq(c.high), low: sq(c.low), close: sq(c.close), volume: c.volume });
        }
        if (Number.isFinite(c.close)) {
          prevNew = out[out.length - 1]!.close;
          prevReal = c.close;
        }
      }
      return out;
    }
  }
}

function scale(c: Candle, o: number, h: number, l: number, cl: number): Candle {
  const open = c.open * o;
  const close = c.close * cl;
  return {
    ts: c.ts,
    open,
    high: Math.max(c.high * h, open, close),
    low: Math.min(c.low * l, open, close),
    close,
    volume: c.volume,
  };
}

/**
 * Funding every 8 h at `base`, with a spike to `spike` per period for `days` days from `at`
 * (positive: longs pay shorts).
 */
export function fundingSpike(
  from: number,
  to: number,
  at: number,
  opts: { base?: number; spike?: number; days?: number } = {},
): FundingRate[] {
  const period = 8 * HOUR;
  const base = opts.base ?? 0.0001;
  const spike = opts.spike ?? 0.01;
  const until = at + (opts.days ?? 3) * 86_400_000;
  const out: FundingRate[] = [];
  for (let t = Math.ceil(from / period) * period; t < to; t += period) out.push([t, t >= at && t < until ? spike : base]);
  return out;
}
