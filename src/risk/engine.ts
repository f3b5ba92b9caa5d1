import { DAY_MS, utcDayStart } from '../core/clock.ts';
import {
  decimal,
  duration as fmtDuration,
  money as moneyIn,
  percent as fmtPct,
  plain as fmtSmall,
  price as fmtPrice,
  qty as fmtQty,
  utc as fmtUtc,
} from '../core/format.ts';
import { floorToStep, isFiniteNumber } from '../core/num.ts';
import type { MarketType, OrderRequest } from '../core/types.ts';
import type { RiskContext, RiskDecision, RiskEvent, RiskIntent, RiskLimits, RiskState } from './types.ts';
import { LIMIT_KEYS, MAX_RECENT_ENTRIES, parseLimit, RISK_LIMITS } from './limits.ts';
import { scaleByConfidence, volatilityQty } from './sizing.ts';

export { LIMIT_KEYS } from './limits.ts';

export type { RiskEvent } from './types.ts';

// The risk engine: every order intent passes through `evaluate`, which returns a verdict with the
// deciding rule's id and a reason a trader can read on a phone. Exits always pass; entries are
// checked gate by gate (blocks → frequency → volatility → leverage → sizing → size limits → lot
// size). Bookkeeping (daily drawdown, breaker, entry times) lives in RiskState, persisted by the
// caller through `onChange`. No wall clock here: time comes in through ctx.now and method args.

/** Every id a verdict's `rule` can carry. */
export type RiskRule =
  | 'ok'
  // exits
  | 'exit_cap'
  | 'no_position'
  | 'not_reducing'
  // entry blocks
  | 'fault'
  | 'paused'
  | 'daily_drawdown_halt'
  | 'circuit_breaker'
  // entry gates
  | 'bad_input'
  | 'spot_long_only'
  | 'max_open_positions'
  | 'min_trade_interval'
  | 'max_trades_24h'
  | 'volatility'
  | 'max_leverage'
  | 'invalid_stop'
  | 'no_stop'
  | 'no_volatility'
  // size limits
  | 'max_loss_per_trade'
  | 'max_capital_in_use'
  | 'insufficient_cash'
  | 'qty_step'
  | 'min_size';

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
const REL_TOL = 1e-9;
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
   * for backtests that journal fills only, where the text would be built for nobody.
   */
  constructor(limits: RiskLimits, state?: RiskState, opts: { explain?: boolean } = {}) {
    this.lim = { ...limits };
    this.st = restoreState(state);
    this.explain = opts.explain ?? true;
  }

  private readonly explain: boolean;

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
    return (
      this.blockRule(ctx.now) ??
      ruleBadInput(ctx, w) ??
      ruleSpotLongOnly(ctx, req) ??
      ruleMaxOpenPositions(lim, ctx) ??
      (intent.continuation ? null : ruleMinTradeInterval(lim, st, ctx.now)) ??
      (intent.continuation ? null : ruleMaxTrades24h(lim, st, ctx.now)) ??
      ruleVolatility(lim, req.symbol, this.volatility(req.symbol)) ??
      ruleMaxLeverage(lim, ctx, req, w) ??
      ruleStop(lim, intent, w) ??
      ruleSizing(lim, intent, ctx, w, this.volatility(req.symbol)) ??
      ruleMaxLoss(lim, ctx, w) ??
      ruleMaxCapitalInUse(lim, ctx, w) ??
      ruleInsufficientCash(ctx, w) ??
      ruleMinSize(ctx, w) ??
      finishEntry(lim, intent, ctx, w, this.explain)
    );
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
      reason: `exit ${fmtQty(qty, ctx.qtyStep)} ${base}: exits are always allowed${note}`,
      request: out,
    };
  }

  /** fault → paused → daily halt → breaker: the first that applies rejects the entry. */
  private blockRule(now: number): RiskDecision | null {
    const st = this.st;
    if (this.fault !== null) return reject('fault', this.fault);
    if (st.paused) return reject('paused', this.pausedText());
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

  private haltActive(now: number): boolean {
    const st = this.st;
    return st.halted && (st.haltedUntil === undefined || now < st.haltedUntil);
  }

  private pausedText(): string {
    const st = this.st;
    return `paused${st.pausedBy ? ` by ${st.pausedBy}` : ''}${st.pausedAt !== undefined ? ` since ${fmtUtc(st.pausedAt)}` : ''}`;
  }

  private haltText(): string {
    const st = this.st;
    const why = st.haltReason ?? 'daily drawdown halt';
    return st.haltedUntil !== undefined ? `${why} until ${fmtUtc(st.haltedUntil)}` : why;
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
        ev = { kind: 'halt_lifted', title: HALT_LIFTED, message: `new UTC day ${fmtUtc(day).slice(0, 10)}: entries allowed again` };
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
        `New entries blocked until ${fmtUtc(until)}; exits are still managed.`,
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
  onTradeClosed(pnl: number, ts: number): RiskEvent | null {
    const st = this.st;
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
    return { ...st, recentEntries: st.recentEntries.slice() };
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

// ---- evaluate: working values ---------------------------------------------------------------

/** Sizing scratch for one evaluate call. `size` is a base qty, or a quote spend when `quote`. */
interface Work {
  px: number;
  fee: number;
  long: boolean;
  quote: boolean;
  size: number;
  /** Size before the limits, for "resized a → b". */
  start: number;
  lev: number;
  /** Stop distance as a fraction of the entry price; NaN when there is no stop. */
  d: number;
  base: string;
  ccy: string;
  explicit: boolean;
  resized: boolean;
  rule: RiskRule;
  notes: string;
  /** The latest resize note alone (the binding one). */
  lastNote: string;
  sized: string;
}

function newWork(): Work {
  return {
    px: 0,
    fee: 0,
    long: true,
    quote: false,
    size: 0,
    start: 0,
    lev: 1,
    d: NaN,
    base: '',
    ccy: '',
    explicit: false,
    resized: false,
    rule: 'ok',
    notes: '',
    lastNote: '',
    sized: '',
  };
}

function resetWork(w: Work, req: OrderRequest, ctx: RiskContext): Work {
  w.px = entryPrice(req, ctx);
  w.fee = ctx.takerFee > 0 ? ctx.takerFee : 0;
  w.long = req.side === 'buy';
  w.quote = false;
  w.size = 0;
  w.start = 0;
  w.lev = 1;
  w.d = NaN;
  const parts = symbolParts(req.symbol);
  w.base = parts.base;
  w.ccy = parts.quote;
  w.explicit = false;
  w.resized = false;
  w.rule = 'ok';
  w.notes = '';
  w.lastNote = '';
  w.sized = '';
  return w;
}

/** Limit price for limit orders, trigger for stop-market, else the current price. */
function entryPrice(req: OrderRequest, ctx: RiskContext): number {
  if ((req.type === 'limit' || req.type === 'stop_limit') && req.price !== undefined && req.price > 0) return req.price;
  if (req.type === 'stop_market' && req.stopPrice !== undefined && req.stopPrice > 0) return req.stopPrice;
  return ctx.price;
}

// Per-unit costs of `size` (one base unit, or one quote unit when quote-sized). Quote spends
// include the fee (the venue takes it out of the spend); qty-sized buys pay the fee on top.
function capitalPerUnit(w: Work, mt: MarketType): number {
  if (w.quote) return 1;
  return mt === 'spot' ? w.px * (1 + w.fee) : w.px / w.lev;
}

function cashPerUnit(w: Work, mt: MarketType): number {
  if (w.quote) return 1;
  return mt === 'spot' ? w.px * (1 + w.fee) : w.px * (1 / w.lev + w.fee);
}

/** Loss if the stop is hit, including the taker fee on entry and on the stop exit. */
function lossPerUnit(w: Work): number {
  const d = w.d;
  const f = w.fee;
  if (w.quote) return 1 - ((1 - d) * (1 - f)) / (1 + f);
  return w.px * (d + f * (w.long ? 2 - d : 2 + d));
}

/** Index of the first element > t in a sorted array (binary search). */
function firstAfter(arr: readonly number[], t: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const fits = (need: number, room: number): boolean => need <= room + REL_TOL * Math.max(1, Math.abs(room));

function resizeTo(w: Work, rule: RiskRule, size: number, note: string): void {
  w.size = size;
  w.rule = rule;
  w.resized = true;
  w.notes = w.notes === '' ? note : `${w.notes}; ${note}`;
  w.lastNote = note;
}

const money = (w: Work, x: number): string => moneyIn(x, w.ccy);
/** Money without a currency (the unit is in the sentence). */
const fmtMoney = (x: number): string => moneyIn(x, '');
const amount = (w: Work, x: number): string => (w.base === '' ? fmtSmall(x) : `${fmtSmall(x)} ${w.base}`);

const reject = (rule: RiskRule, reason: string): RiskDecision => ({ action: 'reject', rule, reason: `rejected: ${reason}` });

// ---- evaluate: the rules (each returns a rejection, or null to go on) -------------------------

function ruleBadInput(ctx: RiskContext, w: Work): RiskDecision | null {
  if (!(w.px > 0) || !Number.isFinite(w.px)) return reject('bad_input', `no usable price (${w.px})`);
  if (!(ctx.equity > 0)) return reject('bad_input', `equity is ${money(w, ctx.equity)}: nothing to trade with`);
  return null;
}

function ruleSpotLongOnly(ctx: RiskContext, req: OrderRequest): RiskDecision | null {
  return ctx.marketType === 'spot' && req.side === 'sell'
    ? reject('spot_long_only', 'spot is long-only: a sell cannot open a position')
    : null;
}

function ruleMaxOpenPositions(lim: RiskLimits, ctx: RiskContext): RiskDecision | null {
  if (ctx.position !== null && ctx.position.qty > 0) return null; // adding to an open position
  if (ctx.openPositions < lim.maxOpenPositions) return null;
  return reject('max_open_positions', `${ctx.openPositions} positions already open (limit ${lim.maxOpenPositions})`);
}

function ruleMinTradeInterval(lim: RiskLimits, st: RiskState, now: number): RiskDecision | null {
  const arr = st.recentEntries;
  if (arr.length === 0 || !(lim.minTradeIntervalSec > 0)) return null;
  const last = arr[arr.length - 1]!;
  const wait = last + lim.minTradeIntervalSec * 1000 - now;
  if (wait <= 0) return null;
  return reject(
    'min_trade_interval',
    `last entry was ${fmtDuration(now - last)} ago, minimum interval is ${fmtDuration(lim.minTradeIntervalSec * 1000)}: wait ${fmtDuration(wait)}`,
  );
}

function ruleMaxTrades24h(lim: RiskLimits, st: RiskState, now: number): RiskDecision | null {
  const arr = st.recentEntries;
  if (!(lim.maxTradesPer24h > 0)) return null;
  const count = arr.length - firstAfter(arr, now - DAY_MS);
  if (count < lim.maxTradesPer24h) return null;
  // A slot frees up when enough of the window's oldest entries age out.
  const nextAt = arr[arr.length - lim.maxTradesPer24h]! + DAY_MS;
  return reject(
    'max_trades_24h',
    `${count} entries in the last 24 h (limit ${lim.maxTradesPer24h}); next one allowed in ${fmtDuration(nextAt - now)}`,
  );
}

function ruleVolatility(lim: RiskLimits, symbol: string, vol: number | null): RiskDecision | null {
  if (lim.maxVolatility === null || vol === null || vol <= lim.maxVolatility) return null;
  return reject(
    'volatility',
    `${symbol} is too volatile: ${fmtPct(vol)} per bar (stdev of the last ${lim.volatilityWindow} returns), limit ${fmtPct(lim.maxVolatility)}`,
  );
}

function ruleMaxLeverage(lim: RiskLimits, ctx: RiskContext, req: OrderRequest, w: Work): RiskDecision | null {
  if (ctx.marketType === 'spot') {
    if (req.leverage !== undefined && req.leverage !== 1)
      return reject('max_leverage', `spot trades use no leverage (asked ${decimal(req.leverage, 2)}×)`);
    w.lev = 1;
    return null;
  }
  const asked = req.leverage !== undefined && req.leverage >= 1 ? req.leverage : 1; // perps default to 1×
  w.lev = asked;
  if (asked > lim.maxLeverage) {
    w.lev = lim.maxLeverage;
    w.resized = true;
    w.rule = 'max_leverage';
    w.notes = `leverage ${decimal(asked, 2)}× → ${decimal(lim.maxLeverage, 2)}× (limit ${decimal(lim.maxLeverage, 2)}×)`;
    w.lastNote = w.notes;
  }
  return null;
}

/** Stop distance from the signal's stop, else the default stopLossPct; a stop on the wrong side rejects. */
function ruleStop(lim: RiskLimits, intent: RiskIntent, w: Work): RiskDecision | null {
  const stop = intent.signal.stopLoss;
  if (stop !== undefined && Number.isFinite(stop)) {
    const d = w.long ? (w.px - stop) / w.px : (stop - w.px) / w.px;
    if (!(d > 0)) {
      return reject(
        'invalid_stop',
        `the stop ${fmtPrice(stop)} is ${w.long ? 'at or above' : 'at or below'} the entry price ${fmtPrice(w.px)} of this ${w.long ? 'long' : 'short'}`,
      );
    }
    w.d = d;
  } else if (lim.stopLossPct !== null && lim.stopLossPct > 0) w.d = lim.stopLossPct;
  return null;
}

/** How big before the limits: an explicit qty/quoteQty is kept; otherwise by `limits.sizing`. */
function ruleSizing(lim: RiskLimits, intent: RiskIntent, ctx: RiskContext, w: Work, vol: number | null): RiskDecision | null {
  const req = intent.request;
  // Quote-sized orders are spot market buys only (what venues support).
  const quoteOk = ctx.marketType === 'spot' && req.side === 'buy' && req.type === 'market';
  if (req.qty !== undefined) {
    if (!(req.qty > 0) || !Number.isFinite(req.qty)) return reject('bad_input', `quantity must be positive (got ${req.qty})`);
    w.size = req.qty;
    w.explicit = true;
    w.sized = 'size as requested';
  } else if (req.quoteQty !== undefined) {
    if (!(req.quoteQty > 0) || !Number.isFinite(req.quoteQty)) return reject('bad_input', `amount must be positive (got ${req.quoteQty})`);
    w.quote = quoteOk;
    w.size = quoteOk ? req.quoteQty : req.quoteQty / w.px;
    w.explicit = true;
    w.sized = 'size as requested';
  } else if (lim.sizing === 'risk') {
    if (Number.isNaN(w.d)) return reject('no_stop', 'risk sizing needs a stop: the signal has none and stopLossPct is off');
    w.size = (ctx.equity * lim.riskPerTrade) / lossPerUnit(w);
    w.sized = `risk sizing: ${fmtPct(lim.riskPerTrade)} of equity (${money(w, ctx.equity * lim.riskPerTrade)}) at risk with the stop ${fmtPct(w.d)} away`;
  } else if (lim.sizing === 'volatility') {
    const q = volatilityQty(ctx.equity, lim.riskPerTrade, w.px, vol, lim.volatilityMultiple);
    if (q === null) return reject('no_volatility', `volatility sizing needs ${lim.volatilityWindow} bars of returns first`);
    w.size = q;
    w.sized = `volatility sizing: ${fmtPct(lim.riskPerTrade)} of equity over ${lim.volatilityMultiple} × ${fmtPct(vol!)} moves`;
  } else if (lim.sizing === 'all-in') {
    if (!(ctx.freeCash > 0))
      return reject('insufficient_cash', `no free ${ctx.marketType === 'perp' ? 'margin' : 'cash'} (${money(w, ctx.freeCash)})`);
    w.quote = quoteOk;
    w.size = quoteOk ? ctx.freeCash : ctx.freeCash / cashPerUnit(w, ctx.marketType);
    w.sized = `all-in: all free ${ctx.marketType === 'perp' ? 'margin' : 'cash'} (${money(w, ctx.freeCash)})`;
  } else {
    w.quote = quoteOk;
    w.size = quoteOk ? lim.fixedQuote : lim.fixedQuote / w.px;
    w.sized = `fixed size ${money(w, lim.fixedQuote)}`;
  }
  w.start = scaleByConfidence(w, lim, intent.signal.confidence);
  return null;
}

/** Loss at the stop (incl. fees) ≤ equity × riskPerTrade. Without any stop it cannot bound: noted at accept. */
function ruleMaxLoss(lim: RiskLimits, ctx: RiskContext, w: Work): RiskDecision | null {
  if (Number.isNaN(w.d)) return null;
  const budget = ctx.equity * lim.riskPerTrade;
  const u = lossPerUnit(w);
  const loss = w.size * u;
  if (fits(loss, budget)) return null;
  resizeTo(
    w,
    'max_loss_per_trade',
    budget / u,
    `the loss at the stop (${fmtPct(w.d)} away, incl. fees) would be ${money(w, loss)} = ${fmtPct(loss / ctx.equity)} of equity (limit ${fmtPct(lim.riskPerTrade)})`,
  );
  return null;
}

/** capitalInUse + this entry's capital (spot: notional incl. fee; perps: margin) ≤ equity × maxCapitalInUse. */
function ruleMaxCapitalInUse(lim: RiskLimits, ctx: RiskContext, w: Work): RiskDecision | null {
  const room = ctx.equity * lim.maxCapitalInUse - ctx.capitalInUse;
  const u = capitalPerUnit(w, ctx.marketType);
  const need = w.size * u;
  if (fits(need, room)) return null;
  if (room <= 0) {
    return reject(
      'max_capital_in_use',
      `capital in use is already ${fmtPct(ctx.capitalInUse / ctx.equity)} of equity (limit ${fmtPct(lim.maxCapitalInUse)})`,
    );
  }
  resizeTo(
    w,
    'max_capital_in_use',
    room / u,
    `capital in use would be ${fmtPct((ctx.capitalInUse + need) / ctx.equity)} of equity (limit ${fmtPct(lim.maxCapitalInUse)})`,
  );
  return null;
}

/** Spot: cost incl. taker fee ≤ free cash. Perps: margin + fee ≤ available margin. */
function ruleInsufficientCash(ctx: RiskContext, w: Work): RiskDecision | null {
  const u = cashPerUnit(w, ctx.marketType);
  const need = w.size * u;
  if (fits(need, ctx.freeCash)) return null;
  const spot = ctx.marketType === 'spot';
  const what = spot ? 'free cash' : 'available margin';
  if (!(ctx.freeCash > 0)) return reject('insufficient_cash', `no ${what} (${money(w, ctx.freeCash)})`);
  resizeTo(
    w,
    'insufficient_cash',
    ctx.freeCash / u,
    `${spot ? 'cost incl. fee' : 'margin + fee'} ${money(w, need)} would exceed the ${what} ${money(w, ctx.freeCash)}`,
  );
  return null;
}

/** Floor to the lot step; below the venue's minimum quantity or order value → reject. */
function ruleMinSize(ctx: RiskContext, w: Work): RiskDecision | null {
  const sizeResized = w.resized && w.rule !== 'max_leverage';
  const why = sizeResized ? ` (resized because ${w.lastNote})` : w.explicit ? '' : ` (${w.sized})`;
  if (w.quote) {
    // The spend is passed through unrounded: the venue sizes the quantity from it (and floors that).
    const spend = w.size;
    const estQty = spend / (w.px * (1 + w.fee));
    if (spend <= 0 || spend < ctx.minNotional) {
      return reject('min_size', `${money(w, spend)} is below the minimum order value ${money(w, ctx.minNotional)}${why}`);
    }
    if (estQty < ctx.minQty) {
      return reject(
        'min_size',
        `${money(w, spend)} buys about ${amount(w, estQty)}, below the minimum quantity ${amount(w, ctx.minQty)}${why}`,
      );
    }
    w.size = spend;
    return null;
  }
  const raw = w.size;
  const qty = floorToStep(raw, ctx.qtyStep);
  if (qty <= 0 || qty < ctx.minQty) {
    return reject('min_size', `${amount(w, raw)} is below the minimum quantity ${amount(w, Math.max(ctx.minQty, ctx.qtyStep))}${why}`);
  }
  if (qty * w.px < ctx.minNotional) {
    return reject(
      'min_size',
      `${amount(w, qty)} ≈ ${money(w, qty * w.px)} is below the minimum order value ${money(w, ctx.minNotional)}${why}`,
    );
  }
  if (w.explicit && !w.resized && qty !== raw) {
    resizeTo(w, 'qty_step', qty, `rounded down to the lot step ${fmtSmall(ctx.qtyStep)}`);
  }
  w.size = qty;
  return null;
}

/** Build the accepted/resized request and its reason. */
function finishEntry(lim: RiskLimits, intent: RiskIntent, ctx: RiskContext, w: Work, explain: boolean): RiskDecision {
  const req = intent.request;
  const out: OrderRequest = { ...req };
  if (w.quote) {
    out.quoteQty = w.size;
    delete out.qty;
  } else {
    out.qty = w.size;
    delete out.quoteQty;
  }
  if (ctx.marketType === 'perp') out.leverage = w.lev;

  if (!explain && !w.resized) {
    const d: RiskDecision = { action: 'accept', rule: 'ok', reason: 'accepted', request: out };
    if (w.quote) d.quoteQty = w.size;
    else d.qty = w.size;
    return d;
  }
  const unit = w.quote ? w.ccy : w.base;
  const fmtSize = (x: number): string => (w.quote ? fmtMoney(x) : fmtQty(x, ctx.qtyStep));
  const lev = ctx.marketType === 'perp' ? ` at ${decimal(w.lev, 2)}×` : '';
  let reason: string;
  if (!w.resized) reason = `accepted ${fmtSize(w.size)} ${unit}${lev}: ${w.sized}`;
  else if (w.rule === 'max_leverage') reason = `resized ${w.notes}; ${fmtSize(w.size)} ${unit}`;
  else reason = `resized ${fmtSize(w.start)} → ${fmtSize(w.size)} ${unit}${lev}: ${w.notes}`;
  if (Number.isNaN(w.d)) {
    reason += `; no stop: the loss on this trade is not bounded by the max loss per trade (${fmtPct(lim.riskPerTrade)})`;
  }
  const d: RiskDecision = { action: w.resized ? 'resize' : 'accept', rule: w.resized ? w.rule : 'ok', reason, request: out };
  if (w.quote) d.quoteQty = w.size;
  else d.qty = w.size;
  return d;
}

// ---- volatility: rolling stdev of log returns --------------------------------------------------

class RollingVol {
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

function clearHaltFields(st: RiskState): void {
  st.halted = false;
  delete st.haltedUntil;
  delete st.haltReason;
}

/** A clean copy of a persisted state (tolerates older/partial snapshots). */
function restoreState(s?: Partial<RiskState>): RiskState {
  const st: RiskState = {
    paused: false,
    halted: false,
    breakerTripped: false,
    consecutiveLosses: 0,
    consecutiveErrors: 0,
    dayStart: 0,
    dayStartEquity: 0,
    recentEntries: [],
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
  if (Array.isArray(s.recentEntries)) {
    st.recentEntries = s.recentEntries
      .filter(isFiniteNumber)
      .sort((a, b) => a - b)
      .slice(-MAX_RECENT_ENTRIES);
  }
  return st;
}

// ---- plain-words formatting ----------------------------------------------------------------

const partsCache = new Map<string, { base: string; quote: string }>();

/** "BTC/USDT:USDT" → BTC, USDT (cached: a handful of symbols per process). */
function symbolParts(symbol: string): { base: string; quote: string } {
  let p = partsCache.get(symbol);
  if (p === undefined) {
    const slash = symbol.indexOf('/');
    const colon = symbol.indexOf(':', slash);
    p =
      slash < 0
        ? { base: symbol, quote: '' }
        : { base: symbol.slice(0, slash), quote: symbol.slice(slash + 1, colon < 0 ? undefined : colon) };
    if (partsCache.size < 1000) partsCache.set(symbol, p);
  }
  return p;
}

const baseOf = (symbol: string): string => symbolParts(symbol).base;
