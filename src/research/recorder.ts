import { DAY_MS, utcDayStart } from '../core/clock.ts';
import type { ExitReason } from '../core/types.ts';
import { MetricsTracker } from '../engine/metrics.ts';

/** Points kept of an equity curve: enough for a chart, small enough to ship through a queue. */
const MAX_POINTS = 2048;

/** Closed trades of one exit reason: how many, how many made money after fees, their net PnL. */
export interface ExitTally {
  trades: number;
  wins: number;
  net: number;
}

export interface CurveFigures {
  /** [ts, equity], decimated evenly to at most MAX_POINTS (the last point is always exact). */
  equity: Array<[number, number]>;
  /** [UTC day start, equity at the day's last bar]. */
  daily: Array<[number, number]>;
  /** Worst day-over-day return (a fraction, ≤ 0 when any day lost). */
  worstDay: number;
  /** Longest stretch below a previous equity peak, in ms. */
  longestUnderWaterMs: number;
  /** Fraction of the run's time spent below a previous peak. */
  underWaterFraction: number;
  /** Closed trades by why they closed. */
  exits: Partial<Record<ExitReason, ExitTally>>;
}

/**
 * The engine's streaming metrics plus what a report needs: the equity curve (decimated as it
 * grows, so memory stays flat on long runs), daily closes, worst day and time under water.
 */
export class CurveRecorder extends MetricsTracker {
  private ts: number[] = [];
  private eq: number[] = [];
  private stride = 1;
  private seen = 0;
  private readonly days: Array<[number, number]> = [];
  private top: number;
  private topTs = NaN;
  private t0 = NaN;
  private t1 = NaN;
  private lastEq: number;
  private underMs = 0;
  private longestUnder = 0;
  private prevTs = NaN;

  constructor(private readonly start: number) {
    super(start);
    this.top = start;
    this.lastEq = start;
  }

  private readonly exits: Partial<Record<ExitReason, ExitTally>> = {};

  override onTradeClosed(netPnl: number, why: ExitReason = 'signal'): void {
    super.onTradeClosed(netPnl, why);
    const t = (this.exits[why] ??= { trades: 0, wins: 0, net: 0 });
    t.trades++;
    if (netPnl > 0) t.wins++;
    t.net += netPnl;
  }

  override onBar(ts: number, equity: number, exposed: boolean): void {
    super.onBar(ts, equity, exposed);
    if (this.seen === 0) {
      this.t0 = ts;
      this.topTs = ts;
    }
    if (this.prevTs === this.prevTs && this.lastEq < this.top) this.underMs += ts - this.prevTs;
    if (equity >= this.top) {
      this.top = equity;
      this.topTs = ts;
    } else if (ts - this.topTs > this.longestUnder) this.longestUnder = ts - this.topTs;
    this.prevTs = ts;
    this.t1 = ts;
    this.lastEq = equity;
    const day = utcDayStart(ts);
    const last = this.days[this.days.length - 1];
    if (last !== undefined && last[0] === day) last[1] = equity;
    else this.days.push([day, equity]);
    if (this.seen++ % this.stride === 0) {
      this.ts.push(ts);
      this.eq.push(equity);
      if (this.ts.length >= MAX_POINTS) {
        this.ts = this.ts.filter((_, i) => i % 2 === 0);
        this.eq = this.eq.filter((_, i) => i % 2 === 0);
        this.stride *= 2;
      }
    }
  }

  figures(): CurveFigures {
    const equity: Array<[number, number]> = this.ts.map((t, i) => [t, this.eq[i]!]);
    if (this.seen > 0 && equity[equity.length - 1]?.[0] !== this.t1) equity.push([this.t1, this.lastEq]);
    let worstDay = 0;
    let prev = this.start;
    for (const [, e] of this.days) {
      if (prev > 0) worstDay = Math.min(worstDay, e / prev - 1);
      prev = e;
    }
    const span = this.t1 - this.t0;
    return {
      equity,
      daily: this.days.map(([d, e]) => [d, e]),
      worstDay,
      longestUnderWaterMs: this.longestUnder,
      underWaterFraction: span > 0 ? this.underMs / span : 0,
      exits: structuredClone(this.exits),
    };
  }
}

/** Month-by-month returns from daily closes: [{ month: '2025-06', ret }]. */
export function monthlyReturns(start: number, daily: ReadonlyArray<readonly [number, number]>): Array<{ month: string; ret: number }> {
  const out: Array<{ month: string; ret: number }> = [];
  let base = start;
  let cur = '';
  let last = start;
  for (const [d, e] of daily) {
    const m = new Date(d).toISOString().slice(0, 7);
    if (m !== cur) {
      if (cur !== '') {
        out.push({ month: cur, ret: base > 0 ? last / base - 1 : 0 });
        base = last;
      }
      cur = m;
    }
    last = e;
  }
  if (cur !== '') out.push({ month: cur, ret: base > 0 ? last / base - 1 : 0 });
  return out;
}

export const daysOf = (ms: number): number => ms / DAY_MS;
