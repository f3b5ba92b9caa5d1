// The entry gates of the risk engine, one function per rule, run in order by RiskEngine.evaluate on
// one reused scratch record (Work): blocks are checked by the engine itself; these decide frequency,
// volatility, leverage, stop, sizing, size limits and lot size, each returning a verdict or null.
import { DAY_MS } from '../core/clock.ts';
import {
  counted,
  decimal,
  duration as fmtDuration,
  money as moneyIn,
  percent as fmtPct,
  plain as fmtSmall,
  price as fmtPrice,
  qty as fmtQty,
} from '../core/format.ts';
import { liquidationPrice } from '../core/accounting.ts';
import { floorToStep } from '../core/num.ts';
import type { MarketType, OrderRequest } from '../core/types.ts';
import type { RiskContext, RiskDecision, RiskIntent, RiskLimits, RiskState } from './types.ts';
import { scaleByConfidence, volatilityQty } from './sizing.ts';

const REL_TOL = 1e-9;

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
  | 'cooldown_after_loss'
  | 'max_trades_24h'
  | 'volatility'
  | 'max_leverage'
  | 'invalid_stop'
  | 'stop_beyond_liquidation'
  | 'no_stop'
  | 'no_volatility'
  | 'pyramiding'
  // size limits
  | 'max_loss_per_trade'
  | 'max_capital_in_use'
  | 'insufficient_cash'
  | 'qty_step'
  | 'min_size';

// ---- evaluate: working values ---------------------------------------------------------------

/** Sizing scratch for one evaluate call. `size` is a base qty, or a quote spend when `quote`. */
export interface Work {
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

export function newWork(): Work {
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

export function resetWork(w: Work, req: OrderRequest, ctx: RiskContext): Work {
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
export function firstAfter(arr: readonly number[], t: number): number {
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
export const fmtMoney = (x: number): string => moneyIn(x, '');
const amount = (w: Work, x: number): string => (w.base === '' ? fmtSmall(x) : `${fmtSmall(x)} ${w.base}`);

export const reject = (rule: RiskRule, reason: string): RiskDecision => ({ action: 'reject', rule, reason: `rejected: ${reason}` });

// ---- evaluate: the rules (each returns a rejection, or null to go on) -------------------------

export function ruleBadInput(ctx: RiskContext, w: Work): RiskDecision | null {
  if (!(w.px > 0) || !Number.isFinite(w.px)) return reject('bad_input', `no usable price (${w.px})`);
  if (!(ctx.equity > 0)) return reject('bad_input', `equity is ${money(w, ctx.equity)}: nothing to trade with`);
  return null;
}

export function ruleSpotLongOnly(ctx: RiskContext, req: OrderRequest): RiskDecision | null {
  return ctx.marketType === 'spot' && req.side === 'sell'
    ? reject('spot_long_only', 'spot is long-only: a sell cannot open a position')
    : null;
}

export function ruleMaxOpenPositions(lim: RiskLimits, ctx: RiskContext): RiskDecision | null {
  if (ctx.position !== null && ctx.position.qty > 0) return null; // adding to an open position
  if (ctx.openPositions < lim.maxOpenPositions) return null;
  return reject(
    'max_open_positions',
    `${counted(ctx.openPositions, 'position')} already open or being opened (limit ${lim.maxOpenPositions})`,
  );
}

export function ruleMinTradeInterval(lim: RiskLimits, st: RiskState, now: number): RiskDecision | null {
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

/** Freqtrade's cooldown / stop-loss guard for one pair: no entry on a symbol soon after a loss on it. */
export function ruleCooldownAfterLoss(lim: RiskLimits, st: RiskState, symbol: string, now: number): RiskDecision | null {
  const last = st.lastLossAt[symbol];
  if (last === undefined || !(lim.cooldownAfterLossSec > 0)) return null;
  const wait = last + lim.cooldownAfterLossSec * 1000 - now;
  if (wait <= 0) return null;
  return reject(
    'cooldown_after_loss',
    `a ${symbol} trade closed at a loss ${fmtDuration(now - last)} ago; cooldown after a loss is ${fmtDuration(lim.cooldownAfterLossSec * 1000)}: wait ${fmtDuration(wait)}`,
  );
}

export function ruleMaxTrades24h(lim: RiskLimits, st: RiskState, now: number): RiskDecision | null {
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

export function ruleVolatility(lim: RiskLimits, symbol: string, vol: number | null): RiskDecision | null {
  if (lim.maxVolatility === null || vol === null || vol <= lim.maxVolatility) return null;
  return reject(
    'volatility',
    `${symbol} is too volatile: ${fmtPct(vol)} per bar (stdev of the last ${lim.volatilityWindow} returns), limit ${fmtPct(lim.maxVolatility)}`,
  );
}

export function ruleMaxLeverage(lim: RiskLimits, ctx: RiskContext, req: OrderRequest, w: Work): RiskDecision | null {
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
export function ruleStop(lim: RiskLimits, intent: RiskIntent, w: Work): RiskDecision | null {
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

/**
 * Perps: a stop the position would be liquidated before reaching can never fire; the loss would be the
 * whole margin and the venue's liquidation fee. Liquidation estimated as the engine shows it (DEFAULT_MMR).
 */
export function ruleStopBeforeLiquidation(ctx: RiskContext, w: Work): RiskDecision | null {
  if (ctx.marketType !== 'perp' || !(w.d > 0)) return null;
  const liq = liquidationPrice(w.long ? 'long' : 'short', w.px, w.lev);
  const stop = w.long ? w.px * (1 - w.d) : w.px * (1 + w.d);
  if (w.long ? stop > liq : stop < liq) return null;
  return reject(
    'stop_beyond_liquidation',
    `the stop-loss ${fmtPrice(stop)} (${fmtPct(w.d)} away) lies beyond the liquidation price ~${fmtPrice(liq)} at ${decimal(w.lev, 2)}×: ` +
      `the position would be liquidated first. Lower market.leverage or bring the stop closer`,
  );
}

/** How big before the limits: an explicit qty/quoteQty is kept; otherwise by `limits.sizing`. */
export function ruleSizing(lim: RiskLimits, intent: RiskIntent, ctx: RiskContext, w: Work, vol: number | null): RiskDecision | null {
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
export function ruleMaxLoss(lim: RiskLimits, ctx: RiskContext, w: Work): RiskDecision | null {
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
export function ruleMaxCapitalInUse(lim: RiskLimits, ctx: RiskContext, w: Work): RiskDecision | null {
  const room = ctx.equity * lim.maxCapitalInUse - ctx.capitalInUse;
  const u = capitalPerUnit(w, ctx.marketType);
  const need = w.size * u;
  if (fits(need, room)) return null;
  const orders = ctx.pendingCapital ? ` with the working entry orders' ${fmtPct(ctx.pendingCapital / ctx.equity)}` : '';
  if (room <= 0) {
    return reject(
      'max_capital_in_use',
      `capital in use is already ${fmtPct(ctx.capitalInUse / ctx.equity)} of equity${orders} (limit ${fmtPct(lim.maxCapitalInUse)})`,
    );
  }
  resizeTo(
    w,
    'max_capital_in_use',
    room / u,
    `capital in use would be ${fmtPct((ctx.capitalInUse + need) / ctx.equity)} of equity${orders} (limit ${fmtPct(lim.maxCapitalInUse)})`,
  );
  return null;
}

/** Spot: cost incl. taker fee ≤ free cash. Perps: margin + fee ≤ available margin. */
export function ruleInsufficientCash(ctx: RiskContext, w: Work): RiskDecision | null {
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
export function ruleMinSize(ctx: RiskContext, w: Work): RiskDecision | null {
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
export function finishEntry(lim: RiskLimits, intent: RiskIntent, ctx: RiskContext, w: Work, explain: boolean): RiskDecision {
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

export const baseOf = (symbol: string): string => symbolParts(symbol).base;
