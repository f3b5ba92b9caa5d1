/*
 *
 * ORDERS (the ccxt adapter). submit() never throws and never blocks: it starts a task. Before anything is sent the
 * order is checked locally (type/time-in-force combinations, client order id format, quantity
 * rounded down to the step, minimum quantity, minimum notional — market orders are priced with a
 * ticker — reduce-only perps exempt like on the venue): a failure is `rejected` with the reason and
 * never reaches the venue. createOrder is sent ONCE and never retried blindly:
 *  - an answer → the order's state (and the trades of a FULL spot answer) is reported;
 *  - a timeout, a dropped connection, a 5xx or any other "execution status unknown" error → the order
 *    is `unknown` and resolved by asking the venue for it by client order id (bounded retries with
 *    backoff), then by the open orders and the recent trades. THE UNKNOWN-ORDER RULE: "not found" is
 *    final (rejected, "never reached the venue") only when the question was asked after the venue
 *    can no longer accept that request. Binance refuses a signed request once its `timestamp` is more
 *    than `recvWindow` old (checked on arrival and again by the matching engine); Bybit likewise
 *    refuses one older than its `X-BAPI-RECV-WINDOW` (10002), and is asked by orderLinkId in both
 *    /v5/order/realtime and /v5/order/history. So once sentAt + recvWindow + RESOLVE_MARGIN_MS has
 *    passed on our clock, an order the venue says it does not know can never appear. The margin
 *    covers the offset between our clock and the venue's (at most ~1 s, or the venue answers -1021 /
 *    10002) and queueing in front of the matching engine. Before
 *    that, "not found" proves nothing (the request may still be in flight) and the order stays
 *    unknown. If it cannot be resolved within the attempts, a critical alert is raised and it stays
 *    unknown: the polling loop keeps applying the same rule, and reconciliation too.
 *  - a rate limit (Binance 429/418, Bybit 10006/10018/403): the venue refused to process it. We wait
 *    at least what it asked for (Retry-After; Bybit's X-Bapi-Limit-Reset-Timestamp), slow every
 *    request down for a while, then check by client order id once (proxies lie) — not found is final
 *    at once ("rate-limited by the venue: not placed"). It is never re-sent: a resent client order id
 *    could place a second order on spot, where ids only need to be unique among open orders.
 *  - a definite refusal (ExchangeError: insufficient funds, invalid order, minimum notional, auth,
 *    -1021 / 10002 timestamp…) → `rejected` with the venue's reason in plain words; auth and clock
 *    problems also raise a critical alert (the clock one after re-measuring the venue's time offset).
 *  - a "duplicate client order id" answer (Binance -4116, Bybit 110072/170141) means the venue
 *    already has it: resolved like a timeout (looked up, never re-sent).
 * Reads (balances, orders, trades, positions) retry network errors with exponential backoff
 * (bounded) and never retry an ExchangeError.
 */
import type { Order as CcxtOrder } from 'ccxt';
import { floorToStep, isFiniteNumber } from '../../core/num.ts';
import { isTerminal, NEVER_REACHED, RATE_LIMITED } from '../../core/order-state.ts';
import type { Order } from '../../core/types.ts';
import { clean, venueWords } from './errors.ts';
import { setTrailingStop, readTrailingStop, trailDistance } from './position-trail.ts';
import { isConditional, toStr } from './spec.ts';
import {
  CANCEL_ATTEMPTS,
  EPS,
  MAX_QUEUED_ENTRIES,
  READ_BASE_MS,
  RESOLVE_ATTEMPTS,
  RESOLVE_BASE_MS,
  RESOLVE_MARGIN_MS,
  RESOLVE_MAX_MS,
  STALE_ENTRY_MS,
  TICKER_TTL_MS,
  fmtNum,
  fmtSec,
  type Phase,
  type Tracked,
} from './state.ts';
import { CcxtSync } from './sync.ts';

export abstract class CcxtOrders extends CcxtSync {
  // From adapter.ts.
  protected abstract ensureLeverage(symbol: string, leverage: number): Promise<void>;

  // ---- orders -------------------------------------------------------------------------------------

  submit(order: Order): void {
    const t: Tracked = {
      coid: order.clientOrderId,
      symbol: order.symbol,
      order: { ...order },
      conditional: isConditional(this.spec, order, this.marketType),
      phase: 'pending',
      status: order.status === 'new' ? 'new' : 'submitted',
      fillQty: 0,
      venueFilled: 0,
      venueFilledReported: 0,
      sentAt: Number.NaN,
      queuedAt: this.clock.now(),
      cancelRequested: false,
      deferrals: 0,
      stuckAlerted: false,
    };
    if (this.tracked.has(t.coid)) {
      // The engine never reuses an id; a second submit of the same id must not reach the venue twice.
      this.log.warn({ venue: this.name, coid: t.coid }, 'submit called twice for one client order id: ignored');
      return;
    }
    this.tracked.set(t.coid, t);
    t.sending = this.place(t).catch((e: unknown) => {
      // place() handles venue errors itself; this is a bug guard: leave it to resolution.
      this.log.error({ venue: this.name, coid: t.coid, err: clean(e) }, 'order task failed');
      if (t.phase === 'sending') void this.resolve(t, `internal error while sending: ${clean(e)}`);
    });
  }

  /** Checks that need no venue round trip; null when fine. */
  protected checkLocally(o: Order): string | null {
    if (this.closed) return 'the venue connection is closed';
    if (!this.connected) return `not connected to ${this.spec.label} yet`;
    const m = this.markets.get(o.symbol);
    if (m === undefined) return `${o.symbol} is not a configured symbol`;
    const { max, pattern, chars } = this.spec.clientOrderId;
    if (o.clientOrderId.length > max || !pattern.test(o.clientOrderId))
      return `client order id ${o.clientOrderId} is not valid for ${this.spec.label} (at most ${max} of ${chars})`;
    if (o.side !== 'buy' && o.side !== 'sell') return `invalid side ${String(o.side)}`;
    if (o.tif !== 'GTC' && o.tif !== 'IOC' && o.tif !== 'PO') return `unknown time in force ${String(o.tif)}`;
    if (o.tif === 'PO' && o.type !== 'limit') return 'post-only is only for limit orders';
    if (o.tif === 'IOC' && o.type !== 'market' && o.type !== 'limit') return 'IOC is only for market and limit orders';
    if ((o.type === 'limit' || o.type === 'stop_limit') && !(isFiniteNumber(o.price) && o.price > 0))
      return 'limit price missing or not a positive number';
    if ((o.type === 'stop_market' || o.type === 'stop_limit') && !(isFiniteNumber(o.stopPrice) && o.stopPrice > 0))
      return 'stop price missing or not a positive number';
    if (this.marketType === 'spot' && o.leverage != null && o.leverage !== 1) return 'spot orders cannot use leverage';
    if (o.quoteQty != null) {
      if (o.type !== 'market' || o.side !== 'buy') return 'a quote amount (quoteQty) is only allowed on market buys';
      if (!(isFiniteNumber(o.quoteQty) && o.quoteQty > 0)) return 'quote amount must be a positive number';
    } else if (!(isFiniteNumber(o.qty) && o.qty > 0)) return 'quantity missing or not a positive number';
    if (this.marketType === 'perp' && o.leverage != null && (o.leverage < 1 || o.leverage > m.maxLeverage))
      return `leverage ${fmtNum(o.leverage)} is outside 1–${fmtNum(m.maxLeverage)} for ${o.symbol}`;
    return null;
  }

  /** Quantity rounded to the venue's step (down), and the min qty / min notional checks. */
  protected async sized(o: Order): Promise<{ qty: number | undefined } | string> {
    const m = this.markets.get(o.symbol)!;
    const sym = this.ccxtSymbol(o.symbol);
    let qty: number | undefined;
    if (o.quoteQty == null) {
      try {
        qty = Number(this.ex!.amountToPrecision(sym, o.qty!));
      } catch {
        qty = floorToStep(o.qty!, m.qtyStep);
      }
      if (!(qty > 0) || qty < m.minQty - EPS)
        return `quantity ${fmtNum(o.qty!)} is below the venue minimum ${fmtNum(m.minQty)} ${m.base} (step ${fmtNum(m.qtyStep)})`;
    }
    // The venue exempts reduce-only perps orders from the minimum notional; spot has no such thing.
    if (m.minNotional > 0 && !(this.marketType === 'perp' && o.reduceOnly)) {
      let px: number | undefined = o.type === 'market' ? undefined : o.type === 'stop_market' ? o.stopPrice : o.price;
      if (px === undefined && o.quoteQty == null) px = await this.refPrice(o.symbol);
      const value = o.quoteQty ?? (px !== undefined ? qty! * px : undefined);
      if (value !== undefined && value < m.minNotional - EPS)
        return `order value ${fmtNum(value)} ${m.quote} is below the venue minimum ${fmtNum(m.minNotional)} ${m.quote}`;
    }
    return { qty };
  }

  /** A recent last price for pricing a market order's notional; undefined when the ticker is unavailable. */
  protected async refPrice(symbol: string): Promise<number | undefined> {
    const c = this.tickers.get(symbol);
    const now = this.clock.now();
    if (c && now - c.at < TICKER_TTL_MS) return c.price;
    try {
      const t = await this.read('ticker', () => this.ex!.fetchTicker(this.ccxtSymbol(symbol)), 2);
      const p = Number(t.last ?? t.close);
      if (p > 0) {
        this.tickers.set(symbol, { price: p, at: this.clock.now() });
        return p;
      }
    } catch (e) {
      this.log.warn({ venue: this.name, symbol, err: clean(e) }, 'no ticker: the minimum notional is left to the venue');
    }
    return undefined;
  }

  protected async place(t: Tracked): Promise<void> {
    await Promise.resolve(); // never answer inside the caller's stack (the engine calls us inside a transaction)
    const o = t.order;
    const bad = this.checkLocally(o);
    if (bad !== null) return this.localReject(t, bad);
    // Exits and protective orders always go; entries queued behind a rate limit are bounded and go stale.
    const entry = !o.reduceOnly;
    if (entry && this.backoffState.isClosed(this.clock.now())) {
      let queued = 0; // entries handed to us before this one (first come, first sent)
      for (const x of this.tracked.values()) {
        if (x === t) break;
        if (x.phase === 'pending' && !x.order.reduceOnly) queued++;
      }
      if (queued >= MAX_QUEUED_ENTRIES)
        return this.dropStale(t, `not sent: ${queued} entries already wait for ${this.spec.label} to lift its rate limit`);
    }
    const size = await this.sized(o);
    if (typeof size === 'string') return this.localReject(t, size);
    if (this.isAttribute(o)) return this.placeAttribute(t);
    const args = this.spec.orderArgs(o, this.marketType, size.qty);
    if (typeof args === 'string') return this.localReject(t, args);
    if (this.marketType === 'perp' && o.leverage != null && !o.reduceOnly) {
      try {
        await this.ensureLeverage(o.symbol, o.leverage);
      } catch (e) {
        return this.localReject(t, `could not set leverage ${fmtNum(o.leverage)}: ${venueWords(e)}`);
      }
    }
    await this.gate();
    if (this.closed) return this.localReject(t, 'the venue connection closed before the order was sent');
    const waited = this.clock.now() - t.queuedAt;
    if (entry && waited > STALE_ENTRY_MS)
      return this.dropStale(
        t,
        `not sent: it waited ${fmtSec(waited)} for ${this.spec.label} (rate limit); an entry decided that long ago is stale`,
      );
    const ex = this.ex!;
    t.phase = 'sending';
    t.sentAt = this.clock.now();
    let res: CcxtOrder;
    try {
      // Sent once. Whatever happens below, this request is never repeated.
      res = await ex.createOrder(this.ccxtSymbol(o.symbol), args.type, o.side, args.amount, args.price, args.params);
    } catch (e) {
      return this.createFailed(t, e);
    }
    this.noteSuccess();
    t.phase = 'live';
    const seen = this.spec.createAnswer === 'state' ? await this.seen(t, res).catch(() => undefined) : undefined;
    if (seen !== undefined) await this.deliver(t, seen);
    else {
      // Only the ids (or an answer we could not read): the order exists; its state follows.
      const id = toStr(res.id);
      if (id !== undefined) this.idToCoid.set(id, t.coid);
      this.emitUpdate(t, t.fillQty > EPS ? 'partially_filled' : 'open', undefined, undefined, id);
    }
    const early = t.early;
    t.early = undefined;
    // (Not if the answer already said more: a stream update older than it must not roll it back.)
    if (early !== undefined && t.phase === 'live' && Number(early.filled ?? 0) >= t.venueFilled) await this.onStreamOrder(early);
    if (t.cancelRequested && t.phase === 'live') void this.doCancel(t);
  }

  /** A position's trailing stop (position-trail.ts): set once, like a createOrder; its state is read back from the position. */
  protected async placeAttribute(t: Tracked): Promise<void> {
    const ex = this.ex!;
    await this.gate();
    if (this.closed) return this.localReject(t, 'the venue connection closed before the order was sent');
    t.phase = 'sending';
    t.sentAt = this.clock.now();
    try {
      await setTrailingStop(ex, String(ex.market(this.ccxtSymbol(t.symbol)).id), trailDistance(t.order, this.market(t.symbol).priceStep));
    } catch (e) {
      return this.createFailed(t, e);
    }
    this.noteSuccess();
    t.phase = 'live';
    this.emitUpdate(t, 'open', 0, undefined, `trailing:${t.coid}`);
    if (t.cancelRequested) void this.doCancel(t);
  }

  /** Cancel a position's trailing stop: removed at the venue unless a newer one replaced it there (one per position). */
  protected async cancelAttribute(t: Tracked): Promise<void> {
    const ex = this.ex!;
    try {
      const newer = this.liveAttribute(t.symbol, t);
      if (newer === undefined || newer.order.createdAt < t.order.createdAt) {
        const id = String(ex.market(this.ccxtSymbol(t.symbol)).id);
        const { size, distance } = await readTrailingStop(ex, id);
        const step = this.market(t.symbol).priceStep;
        if (size > 0 && Math.abs(distance - trailDistance(t.order, step)) <= step / 2 + 1e-12) await setTrailingStop(ex, id, 0);
      }
      this.noteSuccess();
      const v = await this.queryAttribute(t);
      if (v !== null && v.status === 'filled') return this.deliver(t, v);
      this.emitUpdate(t, 'cancelled', t.fillQty, 'cancelled on request');
    } catch (e) {
      // Still set: the polling loop reports it working; the engine's cancel is tried again by whoever asks.
      this.log.warn({ venue: this.name, coid: t.coid, err: clean(e) }, 'could not remove the position trailing stop');
    }
  }

  /** An entry that never left: it expired in our queue (journaled with why; not an order error). */
  protected dropStale(t: Tracked, reason: string): void {
    t.phase = 'done';
    this.log.warn({ venue: this.name, coid: t.coid, reason }, 'order dropped before sending');
    this.emitUpdate(t, 'expired', 0, reason);
  }

  protected localReject(t: Tracked, reason: string): void {
    t.phase = 'done';
    this.log.info({ venue: this.name, coid: t.coid, reason }, 'order rejected before sending');
    this.emitUpdate(t, 'rejected', 0, reason);
  }

  protected async createFailed(t: Tracked, e: unknown): Promise<void> {
    const kind = this.failure(e);
    const words = venueWords(e);
    this.log.warn({ venue: this.name, coid: t.coid, kind, err: clean(e) }, 'createOrder failed');
    switch (kind) {
      case 'rate': {
        const wait = this.rateLimited(e);
        t.refusedBy = `${RATE_LIMITED} (${wait.label}): not placed`;
        return this.resolve(t, `${RATE_LIMITED} (${wait.label}); checking after the ${Math.ceil(wait.ms / 1000)} s it asked for`);
      }
      case 'network':
      case 'duplicate':
        return this.resolve(
          t,
          kind === 'duplicate'
            ? `the venue already has ${t.coid}: looking it up`
            : `no answer from the venue (${words}): looking the order up`,
        );
      case 'clock': {
        t.phase = 'done';
        // Re-measure first, so the rejection and its alert go out together (and say what was done).
        await this.read('server time', () => this.ex!.loadTimeDifference(), 2).catch(() => undefined);
        this.emitUpdate(t, 'rejected', 0, `the venue refused the request time: ${words}`);
        this.alert({
          type: 'exchange_down',
          severity: 'critical',
          title: `${this.spec.label}: clock out of sync`,
          message: `${this.spec.label} rejected order ${t.coid} because of the request time (${words}). Sync the machine's clock (NTP); the bot re-measured the offset. recvWindow is ${this.o.recvWindowMs} ms.`,
          key: `${this.name}:clock`,
        });
        return;
      }
      case 'auth':
        t.phase = 'done';
        this.emitUpdate(t, 'rejected', 0, `the venue refused the API key: ${words}`);
        this.alert({
          type: 'exchange_down',
          severity: 'critical',
          title: `${this.spec.label}: API key refused`,
          message: `${this.spec.label} rejected order ${t.coid}: ${words}. Check the key's trading permission and IP allow-list; no order can be placed until this is fixed.`,
          key: `${this.name}:auth`,
        });
        return;
      case 'would_trigger':
        // A stop the price has already passed: the engine exits as the stop would have (protection.ts).
        t.phase = 'done';
        this.emitUpdate(t, 'rejected', 0, `${words}: the price is already through the trigger`, undefined, true);
        return;
      default:
        t.phase = 'done';
        this.emitUpdate(t, 'rejected', 0, words);
    }
  }

  /**
   * Resolve an order whose outcome is unknown (see the rule at the top). Bounded; afterwards the
   * polling loop keeps looking at it with the same rule.
   */
  protected async resolve(t: Tracked, cause: string): Promise<void> {
    t.phase = 'resolving';
    this.emitUpdate(t, 'unknown', undefined, cause);
    for (let attempt = 1; !this.closed; attempt++) {
      await this.pause(Math.min(RESOLVE_MAX_MS, RESOLVE_BASE_MS * 2 ** (attempt - 1)));
      if (this.closed) return;
      const r = await this.lookup(t);
      const phase = t.phase as Phase; // lookup() moves it
      if (r === 'found' || r === 'gone' || phase === 'done') {
        if (t.cancelRequested && phase === 'live') void this.doCancel(t);
        return;
      }
      if (attempt >= RESOLVE_ATTEMPTS && this.clock.now() >= this.deadline(t)) break;
    }
    if (this.closed || (t.phase as Phase) === 'done') return;
    t.phase = 'stuck';
    this.stuckAlert(t);
  }

  protected stuckAlert(t: Tracked): void {
    if (t.stuckAlerted) return;
    t.stuckAlerted = true;
    this.alert({
      type: 'exchange_down',
      severity: 'critical',
      title: `Order ${t.coid} in an unknown state`,
      message:
        `${t.order.side} ${t.order.symbol} ${t.coid}: ${this.spec.label} could not confirm whether it exists (${this.lastError ?? 'no answer'}). ` +
        `It stays "unknown"; the bot keeps checking and reconciliation will resolve it. Check the venue's open orders if this lasts.`,
      key: `unknown-order:${t.coid}`,
      data: { clientOrderId: t.coid },
    });
  }

  /** When "not found" becomes final for a request sent at t.sentAt. */
  protected deadline(t: Tracked): number {
    if (t.refusedBy !== undefined) return Math.max(this.backoffState.until, t.sentAt);
    const sent = Number.isFinite(t.sentAt) ? t.sentAt : -Infinity;
    return sent + this.o.recvWindowMs + RESOLVE_MARGIN_MS;
  }

  /** One look at an order we have no answer for. */
  protected async lookup(t: Tracked): Promise<'found' | 'absent' | 'gone' | 'error'> {
    await this.gate();
    const askedAt = this.clock.now();
    try {
      const v = await this.queryOrder(t);
      if (v !== null) {
        await this.deliver(t, v);
        return 'found';
      }
      // Not found by client id: the open orders and the recent trades, in case the lookup lags.
      const open = await this.openOrders(t.symbol);
      const hit = open.find((x) => x.coid === t.coid);
      if (hit !== undefined) {
        await this.deliver(t, hit);
        return 'found';
      }
      await this.syncTrades(t.symbol);
      if (t.fillQty > EPS) return 'absent'; // it traded, so it exists: keep asking
    } catch (e) {
      this.lastError = venueWords(e);
      if (this.failure(e) === 'rate') this.rateLimited(e);
      this.log.warn({ venue: this.name, coid: t.coid, err: this.lastError }, 'order lookup failed');
      return 'error';
    }
    this.noteSuccess();
    // An order the venue acknowledged did reach it: "not found" then is a venue problem, never "never sent".
    if (t.exchangeOrderId !== undefined) return 'absent';
    if (askedAt >= this.deadline(t)) {
      t.phase = 'done';
      const reason =
        t.refusedBy ??
        (Number.isFinite(t.sentAt)
          ? `${NEVER_REACHED} (not found ${Math.round((askedAt - t.sentAt) / 1000)} s after sending, past the ${this.o.recvWindowMs} ms recvWindow)`
          : NEVER_REACHED);
      this.emitUpdate(t, 'rejected', 0, reason);
      return 'gone';
    }
    return 'absent';
  }

  /** Orders the journal holds as live, placed before a restart: followed from now on, so their fills are attributed to them. */
  follow(orders: Order[]): void {
    for (const o of orders) {
      // 'new' never left the process (the reconciler closes those out).
      if (o.status === 'new' || isTerminal(o.status) || this.tracked.has(o.clientOrderId)) continue;
      this.track(o);
    }
  }

  cancel(order: Order): void {
    let t = this.tracked.get(order.clientOrderId);
    if (t === undefined) {
      // An order from before a restart: track it from now on.
      t = this.track(order);
    }
    t.cancelRequested = true;
    if (t.phase === 'pending' || t.phase === 'sending' || t.phase === 'resolving') return; // cancelled once its state is known
    if (t.phase === 'done') return;
    void this.doCancel(t);
  }

  protected track(order: Order): Tracked {
    const t = this.untracked(order, isConditional(this.spec, order, this.marketType));
    this.tracked.set(t.coid, t);
    return t;
  }

  /** State for an order this process did not send (placed before a restart). */
  protected untracked(order: Order, conditional: boolean): Tracked {
    const t: Tracked = {
      coid: order.clientOrderId,
      symbol: order.symbol,
      order: { ...order },
      conditional,
      phase: isTerminal(order.status) ? 'done' : order.status === 'unknown' || order.status === 'submitted' ? 'stuck' : 'live',
      status: order.status,
      fillQty: order.filledQty,
      venueFilled: order.filledQty,
      venueFilledReported: order.filledQty,
      // Sent by an earlier process: the last journaled change is the latest it could have been sent.
      sentAt: order.status === 'submitted' || order.status === 'unknown' ? order.updatedAt : Number.NaN,
      queuedAt: Number.NaN,
      cancelRequested: false,
      deferrals: 0,
      stuckAlerted: true,
    };
    if (order.exchangeOrderId) {
      t.exchangeOrderId = order.exchangeOrderId;
      this.idToCoid.set(order.exchangeOrderId, t.coid);
    }
    return t;
  }

  protected async doCancel(t: Tracked): Promise<void> {
    if (!this.connected || this.closed) return;
    if (this.isAttribute(t.order)) return this.cancelAttribute(t);
    const ex = this.ex!;
    for (let attempt = 1; attempt <= CANCEL_ATTEMPTS && !this.closed; attempt++) {
      await this.gate();
      try {
        // Cancelling is idempotent, so unlike createOrder it may be retried.
        const id = this.spec.cancelByClientIdOnly ? (undefined as unknown as string) : (t.exchangeOrderId ?? '');
        const res = await ex.cancelOrder(id, this.ccxtSymbol(t.symbol), this.spec.byClientId(t.coid, t.conditional));
        this.noteSuccess();
        const seen = await this.seen(t, res).catch(() => undefined);
        // The answer may lack the fills: read the order again for its final state.
        const final =
          seen !== undefined && isTerminal(seen.status) && seen.filled <= t.fillQty + EPS
            ? seen
            : await this.queryOrder(t).catch(() => seen ?? null);
        if (final) await this.deliver(t, final);
        return;
      } catch (e) {
        const kind = this.failure(e);
        if (kind === 'not_found') {
          // "Unknown order": already gone (filled, cancelled, expired) or never there.
          await this.refresh(t);
          return;
        }
        if (kind === 'rate') this.rateLimited(e);
        if (kind !== 'network' && kind !== 'rate') {
          this.log.warn({ venue: this.name, coid: t.coid, err: clean(e) }, 'cancel refused');
          this.alert({
            type: 'order_rejected',
            severity: 'warning',
            title: `Cancel refused: ${t.coid}`,
            message: `${this.spec.label} refused to cancel ${t.coid}: ${venueWords(e)}`,
            key: `cancel:${t.coid}`,
          });
          return;
        }
        this.lastError = venueWords(e);
        await this.pause(READ_BASE_MS * 2 ** (attempt - 1));
      }
    }
    // Still unanswered: the polling loop reports whatever happens to it.
  }

  /** Look a tracked order up and report its state; "not found" follows the unknown-order rule. */
  protected async refresh(t: Tracked): Promise<void> {
    if (t.phase === 'pending' || t.phase === 'sending' || t.phase === 'resolving') return;
    const r = await this.lookup(t);
    if (r === 'absent' && t.phase !== 'done') {
      t.phase = 'stuck';
      if (t.exchangeOrderId !== undefined) {
        this.log.warn({ venue: this.name, coid: t.coid }, 'the venue no longer finds an order it acknowledged');
        this.stuckAlert(t);
      } else if (this.clock.now() >= this.deadline(t) + RESOLVE_MAX_MS * RESOLVE_ATTEMPTS) this.stuckAlert(t);
    }
  }
}
