import { TIMEFRAME_MS, type Timeframe } from '../core/types.ts';

/** Below this much data an annualised return means nothing (2 days of -1 % reads as -99.999 %/yr). */
export const MIN_CAGR_DAYS = 30;

/** The CAGR a backtest reports: null (not annualised) when the data spans under MIN_CAGR_DAYS. */
export function reportedCagr(cagr: number, bars: number, tf: Timeframe): number | null {
  return bars * TIMEFRAME_MS[tf] < MIN_CAGR_DAYS * 86_400_000 ? null : cagr;
}

/** The text output's CAGR. */
export const cagrText = (cagr: number | null): string =>
  cagr === null ? `CAGR n/a: under ${MIN_CAGR_DAYS} days of data, not annualised` : `CAGR ${(cagr * 100).toFixed(2)}%`;
