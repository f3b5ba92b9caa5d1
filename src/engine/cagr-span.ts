// When an annualised figure means something: the one rule every CAGR (and the calmar ratio built on
// it) goes through before it is printed, written to JSON or a report, or judged by a rule.
import { DAY_MS } from '../core/clock.ts';

/** Below this much data an annualised return means nothing (2 days of -1 % reads as -99.999 %/yr). */
export const MIN_CAGR_DAYS = 30;

/** Why a CAGR (or a calmar ratio) is not given: the verdict of a rule on it says so. */
export const CAGR_NA_WHY = `n/a: under ${MIN_CAGR_DAYS} days of data`;
export const CAGR_NA = `${CAGR_NA_WHY}, not annualised`;

/**
 * Days of data a run covers, from its first bar's open to its last bar's close: `days` is a
 * Metrics' span (first bar to last bar, the one its CAGR is annualised over), `barMs` the timeframe.
 */
export const spanDays = (days: number, barMs: number): number => days + barMs / DAY_MS;

/** The CAGR a backtest reports: null (not annualised) when the data spans under MIN_CAGR_DAYS. */
export function reportedCagr(cagr: number, span: number): number | null {
  return span < MIN_CAGR_DAYS - 1e-9 ? null : cagr; // 1e-9: days is a quotient of milliseconds
}

/** Calmar (CAGR / max drawdown): null with the CAGR, 0 without a drawdown. */
export const calmarOf = (cagr: number | null, maxDrawdown: number): number | null =>
  cagr === null ? null : maxDrawdown > 0 ? cagr / maxDrawdown : 0;

/** The text output's CAGR. */
export const cagrText = (cagr: number | null): string => (cagr === null ? `CAGR ${CAGR_NA}` : `CAGR ${(cagr * 100).toFixed(2)}%`);
