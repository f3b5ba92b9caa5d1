// Risk bookkeeping helpers: the rolling volatility per symbol and the persisted state's restore.
import { isFiniteNumber } from '../core/num.ts';
import type { RiskState, SymbolPause } from './types.ts';
import { MAX_RECENT_ENTRIES } from './limits.ts';

// ---- volatility: rolling stdev of log returns --------------------------------------------------

export class RollingVol {
  private buf: Float64Array;
  private head = 0;
  private n = 0;
  private sum = 0;
  private sumSq = 0;
  private prev = NaN;
  private sinceSync = 0;

  constructor(window: number) {
    this.buf = new Float64Array(Math.max(2, Math.floor(window)));
  }

  push(close: number): void {
    if (!(close > 0) || close === Infinity) return;
    const prev = this.prev;
    this.prev = close;
    if (!(prev > 0)) return;
    const r = Math.log(close / prev);
    const buf = this.buf;
    const cap = buf.length;
    if (this.n === cap) {
      const old = buf[this.head]!;
      this.sum -= old;
      this.sumSq -= old * old;
    } else this.n++;
    buf[this.head] = r;
    this.sum += r;
    this.sumSq += r * r;
    this.head = this.head + 1 === cap ? 0 : this.head + 1;
    // Running sums drift with float error: recompute once per window (amortized O(1)).
    if (++this.sinceSync >= cap) this.resync();
  }

  value(): number | null {
    const n = this.n;
    if (n < this.buf.length) return null;
    const v = (this.sumSq - (this.sum * this.sum) / n) / (n - 1);
    return Math.sqrt(v > 0 ? v : 0);
  }

  /** New window length: keeps the most recent returns that fit. */
  resize(window: number): void {
    const cap = Math.max(2, Math.floor(window));
    const old = this.buf;
    const keep = Math.min(this.n, cap);
    const next = new Float64Array(cap);
    // Oldest kept return first; `head` points just past the newest.
    for (let i = 0; i < keep; i++) next[i] = old[(this.head - keep + i + old.length * 2) % old.length]!;
    this.buf = next;
    this.n = keep;
    this.head = keep === cap ? 0 : keep;
    this.resync();
  }

  private resync(): void {
    let s = 0;
    let q = 0;
    const buf = this.buf;
    for (let i = 0; i < this.n; i++) {
      const r = buf[i]!;
      s += r;
      q += r * r;
    }
    this.sum = s;
    this.sumSq = q;
    this.sinceSync = 0;
  }
}

// ---- state -----------------------------------------------------------------------------------

export function clearHaltFields(st: RiskState): void {
  st.halted = false;
  delete st.haltedUntil;
  delete st.haltReason;
}

/** A clean copy of a persisted state (tolerates older/partial snapshots). */
export function restoreState(s?: Partial<RiskState>): RiskState {
  const st: RiskState = {
    paused: false,
    halted: false,
    breakerTripped: false,
    consecutiveLosses: 0,
    consecutiveErrors: 0,
    dayStart: 0,
    dayStartEquity: 0,
    recentEntries: [],
    lastLossAt: {},
    pausedSymbols: {},
  };
  if (s === undefined || s === null) return st;
  st.paused = s.paused === true;
  if (st.paused && typeof s.pausedBy === 'string') st.pausedBy = s.pausedBy;
  if (st.paused && isFiniteNumber(s.pausedAt)) st.pausedAt = s.pausedAt;
  st.halted = s.halted === true;
  if (st.halted && isFiniteNumber(s.haltedUntil)) st.haltedUntil = s.haltedUntil;
  if (st.halted && typeof s.haltReason === 'string') st.haltReason = s.haltReason;
  st.breakerTripped = s.breakerTripped === true;
  if (st.breakerTripped && typeof s.breakerReason === 'string') st.breakerReason = s.breakerReason;
  if (st.breakerTripped && isFiniteNumber(s.breakerTrippedAt)) st.breakerTrippedAt = s.breakerTrippedAt;
  if (isFiniteNumber(s.consecutiveLosses) && s.consecutiveLosses > 0) st.consecutiveLosses = Math.floor(s.consecutiveLosses);
  if (isFiniteNumber(s.consecutiveErrors) && s.consecutiveErrors > 0) st.consecutiveErrors = Math.floor(s.consecutiveErrors);
  if (isFiniteNumber(s.dayStart)) st.dayStart = s.dayStart;
  if (isFiniteNumber(s.dayStartEquity)) st.dayStartEquity = s.dayStartEquity;
  if (s.lastLossAt && typeof s.lastLossAt === 'object') {
    for (const [symbol, at] of Object.entries(s.lastLossAt as Record<string, unknown>)) if (isFiniteNumber(at)) st.lastLossAt[symbol] = at;
  }
  if (s.pausedSymbols && typeof s.pausedSymbols === 'object') {
    for (const [symbol, p] of Object.entries(s.pausedSymbols as Record<string, unknown>)) {
      const v = p as Partial<SymbolPause> | null;
      if (v && typeof v.by === 'string' && isFiniteNumber(v.at)) st.pausedSymbols[symbol] = { by: v.by, at: v.at };
    }
  }
  if (Array.isArray(s.recentEntries)) {
    st.recentEntries = s.recentEntries
      .filter(isFiniteNumber)
      .sort((a, b) => a - b)
      .slice(-MAX_RECENT_ENTRIES);
  }
  return st;
}
