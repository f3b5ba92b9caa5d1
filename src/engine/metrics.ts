import { DAY_MS, utcDayStart } from '../core/clock.ts';
import type { ExitReason } from '../core/types.ts';

/** Performance figures of a run. Ratios are fractions (0.12 = 12 %). */
export interface Metrics {
  start_equity: number;
  final_equity: number;
  total_return: number;
  cagr: number;
  /** Annualized (√365) from daily returns, sample stdev. 0 when undefined. */
  sharpe: number;
  /** Annualized (√365) from daily returns; downside deviation over all days (target 0). */
  sortino: number;
  /** Largest peak-to-trough fall of bar-by-bar equity, as a fraction of the peak. */
  max_drawdown: number;
  /** Closed trades with net PnL > 0, as a fraction of closed trades. */
  win_rate: number;
  /** Gross profit / gross loss of closed trades (net of fees); Infinity-free: null when no losses. */
  profit_factor: number | null;
  /** Average net PnL per closed trade, in quote currency. */
  expectancy: number;
  /** Fraction of bars with an open position. */
  exposure: number;
  fees: number;
  /** Closed round-trip trades. */
  trades: number;
  days: number;
}

/**
 * Streaming metrics: O(1) per bar, no allocation except one number per UTC day.
 * Daily returns use the equity at the last bar of each UTC day.
 */
export class MetricsTracker {
  private peak: number;
  private maxDd = 0;
  private bars = 0;
  private exposedBars = 0;
  private day = -1;
  private lastEquity: number;
  private readonly dailyCloses: number[] = [];
  private grossProfit = 0;
  private grossLoss = 0;
  private wins = 0;
  private trades = 0;
  private netPnl = 0;
  private fees = 0;
  private firstTs = NaN;
  private lastTs = NaN;

  constructor(private readonly startEquity: number) {
    this.peak = startEquity;
    this.lastEquity = startEquity;
  }

  onBar(ts: number, equity: number, exposed: boolean): void {
    if (this.bars === 0) this.firstTs = ts;
    this.lastTs = ts;
    this.bars++;
    if (exposed) this.exposedBars++;
    if (equity > this.peak) this.peak = equity;
    else {
      const dd = (this.peak - equity) / this.peak;
      if (dd > this.maxDd) this.maxDd = dd;
    }
    const d = utcDayStart(ts);
    if (d !== this.day) {
      if (this.day !== -1) this.dailyCloses.push(this.lastEquity);
      this.day = d;
    }
    this.lastEquity = equity;
  }

  onFee(fee: number): void {
    this.fees += fee;
  }

  /** A round trip closed with this net PnL (realized minus its fees), for this reason. */
  onTradeClosed(netPnl: number, _why?: ExitReason): void {
    this.trades++;
    this.netPnl += netPnl;
    if (netPnl > 0) {
      this.wins++;
      this.grossProfit += netPnl;
    } else this.grossLoss -= netPnl;
  }

  result(finalEquity = this.lastEquity, endTs = this.lastTs): Metrics {
    const closes = this.bars > 0 ? [...this.dailyCloses, finalEquity] : [];
    const rets: number[] = [];
    let prev = this.startEquity;
    for (const c of closes) {
      rets.push(prev > 0 ? c / prev - 1 : 0);
      prev = c;
    }
    const n = rets.length;
    const mean = n ? rets.reduce((a, b) => a + b, 0) / n : 0;
    const sd = n > 1 ? Math.sqrt(rets.reduce((a, r) => a + (r - mean) ** 2, 0) / (n - 1)) : 0;
    const dd = n ? Math.sqrt(rets.reduce((a, r) => a + Math.min(r, 0) ** 2, 0) / n) : 0;
    const ann = Math.sqrt(365);
    const spanMs = Number.isFinite(endTs - this.firstTs) ? endTs - this.firstTs : 0;
    const years = spanMs / (365.25 * DAY_MS);
    const ratio = this.startEquity > 0 ? finalEquity / this.startEquity : 0;
    return {
      start_equity: this.startEquity,
      final_equity: finalEquity,
      total_return: ratio - 1,
      cagr: years > 0 && ratio > 0 ? ratio ** (1 / years) - 1 : 0,
      sharpe: sd > 0 ? (mean / sd) * ann : 0,
      sortino: dd > 0 ? (mean / dd) * ann : 0,
      max_drawdown: this.maxDd,
      win_rate: this.trades ? this.wins / this.trades : 0,
      profit_factor: this.grossLoss > 0 ? this.grossProfit / this.grossLoss : null,
      expectancy: this.trades ? this.netPnl / this.trades : 0,
      exposure: this.bars ? this.exposedBars / this.bars : 0,
      fees: this.fees,
      trades: this.trades,
      days: spanMs / DAY_MS,
    };
  }
}
