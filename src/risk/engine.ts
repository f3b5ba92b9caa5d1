import { DAY_MS, engineTimeNote, utcDayStart, type ClockKind } from '../core/clock.ts';
import { percent as fmtPct, qty as fmtQty, utc as fmtUtc } from '../core/format.ts';
import type { OrderRequest } from '../core/types.ts';
import type { RiskContext, RiskDecision, RiskEvent, RiskIntent, RiskLimits, RiskState, SymbolPause } from './types.ts';
import { LIMIT_KEYS, MAX_RECENT_ENTRIES, parseLimit, RISK_LIMITS } from './limits.ts';
import {
  baseOf,
  finishEntry,
  firstAfter,
  fmtMoney,
  newWork,
  reject,
  resetWork,
  ruleBadInput,
  ruleInsufficientCash,
  ruleMaxCapitalInUse,
  ruleMaxLeverage,
  ruleMaxLoss,
  ruleMaxOpenPositions,
  ruleMaxTrades24h,
  ruleMinSize,
  ruleMinTradeInterval,
  ruleCooldownAfterLoss,
  ruleSizing,
  ruleSpotLongOnly,
  ruleStop,
  ruleStopBeforeLiquidation,
  ruleVolatility,
  type Work,
} from './entry-rules.ts';
import { clearHaltFields, restoreState, RollingVol } from './state.ts';
import { finishAdd, rulePyramidGate, rulePyramidLoss, sizeAdd } from './pyramid.ts';

export type { RiskRule } from './entry-rules.ts';

export { LIMIT_KEYS } from './limits.ts';

export type { RiskEvent } from './types.ts';

// The risk engine: every order intent passes through `evaluate`, which returns a verdict with the
// deciding rule's id and a reason a trader can read on a phone. Exits always pass; entries are
// checked gate by gate (blocks → frequency → volatility → leverage → sizing → size limits → lot
// size). Bookkeeping (daily drawdown, breaker, entry times) lives in RiskState, persisted by the
// caller through `onChange`. No wall clock here: time comes in through ctx.now and method args.

export interface ResumeOptions {
  /** Also lift today's daily drawdown halt (the day's start equity is rebased to the current equity). */
  clearHalt?: boolean;
  /** Also reset a tripped circuit breaker and its loss/error counts. */
  clearBreaker?: boolean;
}

export interface ResumeResult {
  wasPaused: boolean;
  clearedHalt: boolean;
  clearedBreaker: boolean;
  /** What still blocks entries after the resume, or null. */
  blocked: string | null;
}

export type SetLimitResult = { ok: true; old: unknown; new: unknown } | { ok: false; error: string };

/** Slack for float noise when a size is compared with a limit it was computed from. */
/** Quote spends are floored to this (no quote step in the context). */
const MINUS = '\u2212';
const HALT_LIFTED = 'Daily drawdown halt lifted';

// ---- the engine ------------------------------------------------------------------------------

export class RiskEngine {
  /** Called whenever the state changes, so the caller can persist it. */
  onChange?: (state: RiskState) => void;

  private readonly lim: RiskLimits;
  private readonly st: RiskState;
  private readonly vols = new Map<string, RollingVol>();
  private lastEquity = NaN;
  /** Set by haltForFault: blocks entries until the process restarts; never persisted. */
  private fault: string | null = null;
  /** Scratch for evaluate (reused: no per-call allocation besides the verdict). */
  private readonly w: Work = newWork();

  /**
   * `explain: false` gives accepted verdicts a short reason (resizes and rejects are always explained):
   * for backtests that journal fills only, where the text would be built for nobody. `clockKind`: which
   * clock stamps `now` (a replay's candle time is labelled so in the texts).
   */
  constructor(limits: RiskLimits, state?: RiskState, opts: { explain?: boolean; clockKind?: () => ClockKind | undefined } = {}) {
    this.lim = { ...limits };
    this.st = restoreState(state);
    this.explain = opts.explain ?? true;
    this.clockKind = opts.clockKind;
  }

  private readonly explain: boolean;
  private readonly clockKind: (() => ClockKind | undefined) | undefined;

  /** A time of the engine's clock in a text a trader reads: "2021-05-19 13:10 UTC (candle time)" in a replay. */
  private at(ts: number): string {
    return fmtUtc(ts) + engineTimeNote(this.clockKind?.());
  }

  get limits(): Readonly<RiskLimits> {
    return this.lim;
  }

  // ---- verdicts ------------------------------------------------------------------------------

  evaluate(intent: RiskIntent, ctx: RiskContext): RiskDecision {
    if (intent.reducing) return this.exitDecision(intent, ctx);
    const lim = this.lim;
    const st = this.st;
    const req = intent.request;
    const w = resetWork(this.w, req, ctx);
    return finishAdd(
      lim,
      intent,
      ctx,
      w,
      this.blockRule(ctx.now, req.symbol) ??
        ruleBadInput(ctx, w) ??
        ruleSpotLongOnly(ctx, req) ??
        ruleMaxOpenPositions(lim, ctx) ??
        (intent.continuation ? null : ruleMinTradeInterval(lim, st, ctx.now)) ??
        (intent.continuation ? null : ruleCooldownAfterLoss(lim, st, req.symbol, ctx.now)) ??
        (intent.continuation ? null : ruleMaxTrades24h(lim, st, ctx.now)) ??
        rulePyramidGate(lim, intent, ctx) ??
        ruleVolatility(lim, req.symbol, this.volatility(req.symbol)) ??
        ruleMaxLeverage(lim, ctx, req, w) ??
        ruleStop(lim, intent, w) ??
        ruleStopBeforeLiquidation(ctx, w) ??
        ruleSizing(lim, intent, ctx, w, this.volatility(req.symbol)) ??
        this.ruleLoss(intent, ctx, w) ??
        ruleMaxCapitalInUse(lim, ctx, w) ??
        ruleInsufficientCash(ctx, w) ??
        ruleMinSize(ctx, w) ??
        finishEntry(lim, intent, ctx, w, this.explain),
    );
  }

  /** Max loss per trade: of this order, or of the whole position it adds to (src/risk/pyramid.ts). */
  private ruleLoss(intent: RiskIntent, ctx: RiskContext, w: Work): RiskDecision | null {
    sizeAdd(this.lim, intent, ctx, w);
    const r = rulePyramidLoss(this.lim, intent, ctx, w);
    return r === 'not_add' ? ruleMaxLoss(this.lim, ctx, w) : r;
  }

  /** Exits and reductions always pass (capped at the position), whatever blocks entries. */
  private exitDecision(intent: RiskIntent, ctx: RiskContext): RiskDecision {
    const req = intent.request;
    const pos = ctx.position;
    const base = baseOf(req.symbol);
    if (pos === null || !(pos.qty > 0)) return reject('no_position', `nothing to close: no open ${req.symbol} position`);
    const closingSide = pos.side === 'long' ? 'sell' : 'buy';
    if (req.side !== closingSide)
      return reject('not_reducing', `a ${req.side} adds to the ${pos.side} ${req.symbol} position instead of reducing it`);
    const asked = req.qty ?? (req.quoteQty !== undefined && ctx.price > 0 ? req.quoteQty / ctx.price : pos.qty);
    if (!(asked > 0)) return reject('bad_input', `exit quantity must be positive (got ${asked})`);
    const qty = Math.min(asked, pos.qty);
    const out: OrderRequest = { ...req, qty };
    delete out.quoteQty;
    if (ctx.marketType === 'perp') out.reduceOnly = true; // can never open or flip a position
    const blocked = this.blockedList(ctx.now);
    const note = blocked === '' ? '' : ` (new entries are blocked: ${blocked})`;
    if (asked > pos.qty) {
      const q = fmtQty(qty, ctx.qtyStep);
      return {
        action: 'resize',
        rule: 'exit_cap',
        qty,
        reason: `resized ${fmtQty(asked, ctx.qtyStep)} → ${q} ${base}: an exit closes at most the open ${pos.side} position (${q} ${base})${note}`,
        request: out,
      };
    }
    return {
      action: 'accept',
      rule: 'ok',
      qty,
      reason: this.explain ? `exit ${fmtQty(qty, ctx.qtyStep)} ${base}: exits are always allowed${note}` : `exit${note}`,
      request: out,
    };
  }

  /** fault → paused (all, or this symbol) → daily halt → breaker: the first that applies rejects the entry. */
  private blockRule(now: number, symbol: string): RiskDecision | null {
    const st = this.st;
    if (this.fault !== null) return reject('fault', this.fault);
    if (st.paused) return reject('paused', this.pausedText());
    const sp = st.pausedSymbols[symbol];
    if (sp !== undefined) return reject('paused', this.symbolPauseText(symbol, sp));
    if (this.haltActive(now)) return reject('daily_drawdown_halt', this.haltText());
    if (st.breakerTripped) return reject('circuit_breaker', this.breakerText());
    return null;
  }

  /** Plain words, null when entries are allowed. */
  blockedReason(ts: number): string | null {
    const st = this.st;
    let out: string | null = this.fault;
    if (st.paused) out = out === null ? this.pausedText() : `${out}; ${this.pausedText()}`;
    if (this.haltActive(ts)) out = out === null ? this.haltText() : `${out}; ${this.haltText()}`;
    if (st.breakerTripped) out = out === null ? this.breakerText() : `${out}; ${this.breakerText()}`;
    return out;
  }

  /** Short names of what blocks entries ('' when nothing), for exit verdicts. */
  private blockedList(now: number): string {
    const st = this.st;
    let out = this.fault !== null ? 'fault' : '';
    if (st.paused) out += out === '' ? 'paused' : ', paused';
    if (this.haltActive(now)) out += out === '' ? 'daily drawdown halt' : ', daily drawdown halt';
    if (st.breakerTripped) out += out === '' ? 'circuit breaker' : ', circuit breaker';
    return out;
  }

  /**
   * Is the daily drawdown halt on at `now`? A halt whose end has passed is over even before the next
   * candle's onEquity() clears it (no candle comes after a replay, or while a feed is down over midnight).
   */
  haltActive(now: number): boolean {
    const st = this.st;
    return st.halted && (st.haltedUntil === undefined || now < st.haltedUntil);
  }

  /** "ETH/USDT paused by ada since 2025-05-21 10:00 UTC": why an entry on a paused symbol is refused. */
  private symbolPauseText(symbol: string, p: SymbolPause): string {
    return `${symbol} paused by ${p.by} since ${this.at(p.at)}`;
  }

  private pausedText(): string {
    const st = this.st;
    return `paused${st.pausedBy ? ` by ${st.pausedBy}` : ''}${st.pausedAt !== undefined ? ` since ${this.at(st.pausedAt)}` : ''}`;
  }

  private haltText(): string {
    const st = this.st;
    const why = st.haltReason ?? 'daily drawdown halt';
    return st.haltedUntil !== undefined ? `${why} until ${this.at(st.haltedUntil)}` : why;
  }

  private breakerText(): string {
    return `circuit breaker tripped (${this.st.breakerReason ?? 'no reason given'}); trading needs a resume that clears the breaker`;
  }

  // ---- per-bar bookkeeping (hot path: O(1), no allocation) ------------------------------------

  /** Call on every bar/equity update: starts a new UTC day, applies the daily drawdown halt. */
  onEquity(ts: number, equity: number): RiskEvent | null {
    if (!Number.isFinite(ts) || !Number.isFinite(equity)) return null;
    this.lastEquity = equity;
    const st = this.st;
    const day = utcDayStart(ts);
    let ev: RiskEvent | null = null;
    if (day > st.dayStart) {
      // First equity of a new UTC day: it is the day's start; yesterday's halt ends.
      st.dayStart = day;
      st.dayStartEquity = equity;
      if (st.halted) {
        clearHaltFields(st);
        ev = {
          kind: 'halt_lifted',
          title: HALT_LIFTED,
          message: `new UTC day ${fmtUtc(day).slice(0, 10)}${engineTimeNote(this.clockKind?.())}: entries allowed again`,
        };
      }
      this.changed();
      return ev;
    }
    if (!(st.dayStartEquity > 0)) {
      // Unknown start (first run, or a cleared halt before any equity came in): start from here.
      if (equity > 0) {
        st.dayStartEquity = equity;
        this.changed();
      }
      return null;
    }
    if (st.halted) {
      if (st.haltedUntil !== undefined && ts >= st.haltedUntil) {
        clearHaltFields(st);
        this.changed();
        return { kind: 'halt_lifted', title: HALT_LIFTED, message: 'entries allowed again' };
      }
      return null;
    }
    const maxDd = this.lim.maxDailyDrawdown;
    if (maxDd > 0 && equity <= st.dayStartEquity * (1 - maxDd)) return this.startHalt(equity);
    return null;
  }

  private startHalt(equity: number): RiskEvent {
    const st = this.st;
    const dd = 1 - equity / st.dayStartEquity;
    const until = st.dayStart + DAY_MS;
    st.halted = true;
    st.haltedUntil = until;
    st.haltReason = `daily drawdown halt (${MINUS}${fmtPct(dd)} today, limit ${fmtPct(this.lim.maxDailyDrawdown)})`;
    this.changed();
    return {
      kind: 'halt',
      title: 'Trading halted',
      message:
        `${st.haltReason}: equity ${fmtMoney(equity)} vs ${fmtMoney(st.dayStartEquity)} at the start of the UTC day. ` +
        `New entries blocked until ${this.at(until)}; exits are still managed.`,
      until,
    };
  }

  /** O(1) per bar: realized volatility estimate per symbol (stdev of 1-bar log returns over `volatilityWindow` bars). */
  onBar(symbol: string, close: number): void {
    if (this.lim.maxVolatility === null && this.lim.sizing !== 'volatility') return;
    let v = this.vols.get(symbol);
    if (v === undefined) {
      v = new RollingVol(this.lim.volatilityWindow);
      this.vols.set(symbol, v);
    }
    v.push(close);
  }

  /** Stdev of 1-bar log returns (a fraction per bar); null until `volatilityWindow` returns were seen. */
  volatility(symbol: string): number | null {
    const v = this.vols.get(symbol);
    return v === undefined ? null : v.value();
  }

  // ---- trades, orders, breaker ---------------------------------------------------------------

  /** An entry order was placed (interval & frequency limits). */
  recordEntry(ts: number): void {
    const arr = this.st.recentEntries;
    // Drop what left the 24 h window (and the oldest beyond the hard cap), keep it sorted.
    let drop = firstAfter(arr, ts - DAY_MS);
    if (arr.length - drop >= MAX_RECENT_ENTRIES) drop = arr.length - MAX_RECENT_ENTRIES + 1;
    if (drop > 0) arr.splice(0, drop);
    const i = firstAfter(arr, ts);
    if (i === arr.length) arr.push(ts);
    else arr.splice(i, 0, ts);
    this.changed();
  }

  /** Consecutive-loss breaker: a loss counts, a win resets the count, break-even leaves it. */
  onTradeClosed(pnl: number, ts: number, symbol?: string): RiskEvent | null {
    const st = this.st;
    if (pnl < 0 && symbol !== undefined) st.lastLossAt[symbol] = ts; // (journaled by the change below)
    if (pnl > 0) {
      if (st.consecutiveLosses !== 0) {
        st.consecutiveLosses = 0;
        this.changed();
      }
      return null;
    }
    if (!(pnl < 0)) return null;
    st.consecutiveLosses++;
    const max = this.lim.maxConsecutiveLosses;
    if (max > 0 && st.consecutiveLosses >= max && !st.breakerTripped) {
      return this.trip(`${st.consecutiveLosses} losing trades in a row (limit ${max})`, ts);
    }
    this.changed();
    return null;
  }

  /** Consecutive-error breaker. */
  onOrderError(reason: string, ts: number): RiskEvent | null {
    const st = this.st;
    st.consecutiveErrors++;
    const max = this.lim.maxConsecutiveErrors;
    if (max > 0 && st.consecutiveErrors >= max && !st.breakerTripped) {
      return this.trip(`${st.consecutiveErrors} order errors in a row (limit ${max}), last: ${reason}`, ts);
    }
    this.changed();
    return null;
  }

  /** An order went through: resets the consecutive error count. */
  onOrderOk(): void {
    if (this.st.consecutiveErrors === 0) return;
    this.st.consecutiveErrors = 0;
    this.changed();
  }

  /** Trip the breaker by hand. It stays tripped (across restarts) until resume({ clearBreaker: true }). */
  tripBreaker(reason: string, ts: number): RiskEvent {
    return this.trip(reason, ts);
  }

  private trip(reason: string, ts: number): RiskEvent {
    const st = this.st;
    st.breakerTripped = true;
    st.breakerReason = reason;
    st.breakerTrippedAt = ts;
    this.changed();
    return {
      kind: 'breaker',
      title: 'Circuit breaker tripped',
      message: `${reason}. New entries blocked until a resume that clears the breaker; exits are still managed.`,
    };
  }

  // ---- controls ------------------------------------------------------------------------------

  /**
   * Something outside the trader's reach broke (the journal can't be written): entries stay blocked
   * until the process restarts. Not part of RiskState, so never persisted and not lifted by /resume.
   */
  haltForFault(reason: string): void {
    this.fault = reason;
  }

  pause(by: string, ts: number): void {
    const st = this.st;
    st.paused = true;
    st.pausedBy = by;
    st.pausedAt = ts;
    this.changed();
  }

  /** New entries on one symbol stop (its exits and stops keep working); false if it already was. */
  pauseSymbol(symbol: string, by: string, ts: number): boolean {
    if (this.st.pausedSymbols[symbol] !== undefined) return false;
    this.st.pausedSymbols[symbol] = { by, at: ts };
    this.changed();
    return true;
  }

  /** Lifts one symbol's pause; false if it was not paused. */
  resumeSymbol(symbol: string): boolean {
    if (this.st.pausedSymbols[symbol] === undefined) return false;
    delete this.st.pausedSymbols[symbol];
    this.changed();
    return true;
  }

  /**
   * The engine's clock went back to `ts`: a finished replay is live again on candle time, after its clock had
   * moved on. The UTC day is the candle's again (a halt lasts until its next day), and entries and losses
   * stamped ahead of it count as made at `ts`, so interval limits and cooldowns never see a negative age.
   */
  clockWentBack(ts: number): void {
    const st = this.st;
    const day = utcDayStart(ts);
    if (st.dayStart > day) {
      st.dayStart = day; // its start equity stays: no candle came in between
      if (st.haltedUntil !== undefined && st.haltedUntil > day + DAY_MS) st.haltedUntil = day + DAY_MS;
    }
    const e = st.recentEntries; // sorted: clamping keeps it so
    for (let i = 0; i < e.length; i++) if (e[i]! > ts) e[i] = ts;
    for (const [symbol, at] of Object.entries(st.lastLossAt)) if (at > ts) st.lastLossAt[symbol] = ts;
    this.changed();
  }

  /** Lifts a pause; a daily halt and a tripped breaker only go when asked for explicitly. */
  resume(by: string, ts: number, opts: ResumeOptions = {}): ResumeResult {
    const st = this.st;
    const wasPaused = st.paused;
    st.paused = false;
    delete st.pausedBy;
    delete st.pausedAt;
    const clearedHalt = opts.clearHalt === true && st.halted;
    if (clearedHalt) {
      clearHaltFields(st);
      // Rebase today's start so the same loss does not halt again on the next bar (0 = next equity).
      st.dayStartEquity = this.lastEquity > 0 ? this.lastEquity : 0;
    }
    const clearedBreaker = opts.clearBreaker === true && st.breakerTripped;
    if (opts.clearBreaker === true) {
      st.breakerTripped = false;
      delete st.breakerReason;
      delete st.breakerTrippedAt;
      st.consecutiveLosses = 0;
      st.consecutiveErrors = 0;
    }
    this.changed();
    // `by` is for symmetry with pause: who resumed is journaled by the caller (commands audit).
    return { wasPaused, clearedHalt, clearedBreaker, blocked: this.blockedReason(ts) };
  }

  // ---- state & limits ------------------------------------------------------------------------

  /** Serializable snapshot (JSON) to persist. */
  state(): RiskState {
    const st = this.st;
    return { ...st, recentEntries: st.recentEntries.slice(), lastLossAt: { ...st.lastLossAt }, pausedSymbols: { ...st.pausedSymbols } };
  }

  /** Change one limit at runtime (chat). Strings are parsed: "2%" → 0.02, "off" → null where allowed. */
  setLimit(key: string, value: string | number): SetLimitResult {
    if (!Object.hasOwn(RISK_LIMITS, key)) return { ok: false, error: `unknown limit "${key}"; known limits: ${LIMIT_KEYS.join(', ')}` };
    const k = key as keyof RiskLimits;
    const parsed = parseLimit(k, value);
    if (!parsed.ok) return parsed;
    const old = this.lim[k];
    (this.lim as unknown as Record<string, unknown>)[k] = parsed.value;
    if (k === 'volatilityWindow') for (const v of this.vols.values()) v.resize(parsed.value as number);
    return { ok: true, old, new: parsed.value };
  }

  private changed(): void {
    if (this.onChange !== undefined) this.onChange(this.state());
  }
}
