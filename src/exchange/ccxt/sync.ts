/*
 * UPDATES. Websockets (ccxt pro watchOrders + watchMyTrades, reconnecting with backoff; a stream
 * coming back emits onConnection(true) so the engine reconciles) and always a REST polling loop every
 * pollMs: recent trades per symbol (Binance: from the last seen trade id; Bybit, whose execution ids
 * are not ordered: from the last seen trade time, with an overlap, through the venue's page cursor),
 * open orders, and a lookup of each of our working orders that left the open list. Every venue trade
 * becomes exactly one onFill (deduped by trade id here, whoever saw it first); fills are reported
 * before the order update that includes them, and a terminal update waits (a few polls) for its
 * trades. Bybit answers createOrder with the ids only: the order is `open` until the stream or a poll
 * says more (a stream update that beats the answer is kept and applied right after it). Fees: ccxt's
 * fee.cost converted to the quote currency — quote as is, base × trade price, any other currency
 * (BNB…) recorded as 0 and logged once per currency. A base-coin fee on a spot buy (Binance with base
 * fees, Bybit always) nets the booked quantity; order progress is still compared in gross quantities.
 */
import type { Order as CcxtOrder, Trade as CcxtTrade } from 'ccxt';
import { errorMessage } from '../../core/errors.ts';
import { isPossiblePrice } from '../../core/prices.ts';
import { canTransition, isTerminal } from '../../core/order-state.ts';
import type { Fill, MarketInfo, Order, OrderStatus } from '../../core/types.ts';
import type { FundingPayment, OrderUpdate } from '../types.ts';
import { clean } from './errors.ts';
import { attributeOrder, readTrailingStop, trailDistance, TRAILING_CLOSE } from './position-trail.ts';
import { CcxtRequests } from './requests.ts';
import { toStr, type Params } from './spec.ts';
import {
  EPS,
  FUNDING_POLL_MS,
  MAX_DEFERRALS,
  POLL_LOOKBACK_MS,
  SEEN_TRADES_MAX,
  TRACKED_MAX,
  TRADE_OVERLAP_MS,
  WS_BACKOFF_MAX_MS,
  WS_BACKOFF_MS,
  type Seen,
  type Tracked,
} from './state.ts';

export abstract class CcxtSync extends CcxtRequests {
  // From the layers above (orders.ts, adapter.ts).
  abstract market(symbol: string): MarketInfo;
  abstract fetchFunding(symbol: string, sinceTs: number): Promise<FundingPayment[]>;
  protected abstract ccxtSymbol(symbol: string): string;
  protected abstract engineSymbol(ccxtSymbol: string | undefined): string | undefined;
  protected abstract refresh(t: Tracked): Promise<void>;

  // ---- venue orders → updates ---------------------------------------------------------------------

  /** Ask the venue for one of our orders by client order id; null only when the venue says it does not exist. */
  protected async queryOrder(t: Tracked): Promise<Seen | null> {
    if (this.isAttribute(t.order)) return this.queryAttribute(t);
    try {
      const ex = this.ex!;
      const sym = this.ccxtSymbol(t.symbol);
      const res = this.spec.fetchOrder
        ? await this.spec.fetchOrder(ex, sym, { coid: t.coid })
        : await ex.fetchOrder(t.exchangeOrderId ?? '', sym, this.spec.byClientId(t.coid, t.conditional));
      return res === null ? null : await this.seen(t, res);
    } catch (e) {
      if (this.failure(e) === 'not_found') return null;
      throw e;
    }
  }

  /** A native trailing stop that is a position attribute (Bybit linear: position-trail.ts), not an order. */
  protected isAttribute(o: Order): boolean {
    return o.trailPct !== undefined && this.spec.nativeTrailing[this.marketType]?.kind === 'position';
  }

  /** The newest working attribute pseudo-order of a symbol (the one the venue holds), other than `but`. */
  protected liveAttribute(symbol: string, but?: Tracked): Tracked | undefined {
    let best: Tracked | undefined;
    for (const u of this.tracked.values()) {
      if (u === but || u.symbol !== symbol || u.phase === 'done' || !this.isAttribute(u.order)) continue;
      if (
        best === undefined ||
        u.order.createdAt > best.order.createdAt ||
        (u.order.createdAt === best.order.createdAt && u.coid > best.coid)
      )
        best = u;
    }
    return best;
  }

  /**
   * The attribute pseudo-order as an order state, read from the position: working while the position
   * carries its distance and no newer one replaced it; filled once its close traded; not found (the
   * unknown-order rule) while a send may still arrive.
   */
  protected async queryAttribute(t: Tracked): Promise<Seen | null> {
    const ex = this.ex!;
    const id = String(ex.market(this.ccxtSymbol(t.symbol)).id);
    const { size, distance } = await readTrailingStop(ex, id);
    const step = this.market(t.symbol).priceStep;
    const newer = this.liveAttribute(t.symbol, t);
    const superseded = newer !== undefined && newer.order.createdAt >= t.order.createdAt && newer.exchangeOrderId !== undefined;
    const pseudo = t.exchangeOrderId ?? `trailing:${t.coid}`;
    let state: 'open' | 'closed' | 'canceled' | null;
    if (size === 0)
      state = t.fillQty > EPS ? 'closed' : 'open'; // its close not seen yet, or the engine cancels it
    else if (!superseded && Math.abs(distance - trailDistance(t.order, step)) <= step / 2 + 1e-12) state = 'open';
    else state = t.exchangeOrderId !== undefined ? 'canceled' : null;
    if (state === null) return null;
    return this.seen(t, attributeOrder(t.order, pseudo, state, state === 'closed' ? t.fillQty : 0));
  }

  /** One order by the venue's id (a trade's order). */
  protected async orderById(id: string, ccxtSymbol: string): Promise<CcxtOrder> {
    const ex = this.ex!;
    if (!this.spec.fetchOrder) return ex.fetchOrder(id, ccxtSymbol);
    const o = await this.spec.fetchOrder(ex, ccxtSymbol, { id });
    if (o === null) throw new Error(`${this.spec.label} does not know order ${id}`);
    return o;
  }

  /** The venue order as our state, following a triggered conditional to the order it became. */
  protected async seen(t: Tracked | undefined, o: CcxtOrder): Promise<Seen> {
    const info = (o.info ?? {}) as Record<string, unknown>;
    const s: Seen = {
      id: String(o.id ?? ''),
      coid: toStr(o.clientOrderId),
      status: this.spec.status?.(info) ?? statusOf(o),
      qty: Number(o.amount ?? 0),
      filled: Number(o.filled ?? 0),
      raw: o,
      trades: o.trades ?? [],
    };
    const cond = this.spec.conditionalState && 'algoStatus' in info ? this.spec.conditionalState(info) : null;
    if (cond !== null) {
      if (cond.state === 'final') s.status = cond.status;
      else if (cond.state === 'working') s.status = 'open';
      else {
        s.actualOrderId = cond.actualOrderId;
        if (t !== undefined) {
          t.actualOrderId = cond.actualOrderId;
          this.idToCoid.set(cond.actualOrderId!, t.coid);
        }
        const actual = await this.ex!.fetchOrder(cond.actualOrderId!, o.symbol ?? this.ccxtSymbol(t?.symbol ?? ''));
        s.status = statusOf(actual);
        s.filled = Number(actual.filled ?? 0);
        s.qty = Number(actual.amount ?? s.qty);
      }
    }
    return s;
  }

  /** Report what the venue says about one of our orders: its fills first, then its status. */
  protected async deliver(t: Tracked, v: Seen): Promise<void> {
    if (v.id) {
      t.exchangeOrderId ??= v.id;
      this.idToCoid.set(v.id, t.coid);
    }
    t.venueFilled = Math.max(t.venueFilled, v.filled);
    // Trades carried by the answer itself (Binance spot FULL responses).
    for (const tr of v.trades) if (tr.id !== undefined) await this.emitTrade(tr, t, v.raw);
    if (v.filled > t.fillQty + EPS) await this.syncTrades(t.symbol);
    const missing = v.filled > t.fillQty + EPS;
    let status = v.status;
    if (isTerminal(status) && missing && t.deferrals < MAX_DEFERRALS) {
      // Its trades are not visible yet: wait a poll or two rather than reporting "filled" before the fills.
      t.deferrals++;
      status = t.fillQty > EPS ? 'partially_filled' : 'open';
    } else if (!isTerminal(status)) status = t.fillQty > EPS ? 'partially_filled' : 'open';
    else if (missing)
      this.log.warn(
        { venue: this.name, coid: t.coid, venueFilled: v.filled, fills: t.fillQty },
        'final order state reported before all its trades were seen',
      );
    let reason: string | undefined;
    if (status === 'cancelled') reason = t.cancelRequested ? 'cancelled on request' : 'cancelled by the venue';
    else if (status === 'expired')
      reason = v.filled > EPS ? 'the rest of the order expired' : 'expired without filling (IOC, post-only or no liquidity)';
    else if (status === 'rejected') reason = 'rejected by the venue';
    this.emitUpdate(t, status, v.filled, reason, v.id || undefined);
    // The venue answered: the order is known (or over, whoever reported that first).
    t.phase = isTerminal(t.status) ? 'done' : 'live';
  }

  protected emitUpdate(
    t: Tracked,
    status: OrderStatus,
    filledQty: number | undefined,
    reason?: string,
    exchangeOrderId?: string,
    triggerPassed?: boolean,
  ): void {
    if (exchangeOrderId !== undefined) t.exchangeOrderId ??= exchangeOrderId;
    const changed = status !== t.status || (filledQty !== undefined && Math.abs(filledQty - t.venueFilledReported) > EPS);
    if (!changed) return;
    if (status !== t.status && !canTransition(t.status, status)) return;
    t.status = status;
    if (filledQty !== undefined) t.venueFilledReported = filledQty;
    if (isTerminal(status)) {
      t.phase = 'done';
      if (this.tracked.size > TRACKED_MAX) this.prune();
    }
    const u: OrderUpdate = { clientOrderId: t.coid, status, ts: this.clock.now() };
    if (t.exchangeOrderId !== undefined) u.exchangeOrderId = t.exchangeOrderId;
    if (filledQty !== undefined) u.filledQty = filledQty;
    if (reason !== undefined) u.reason = reason;
    if (triggerPassed) u.triggerPassed = true;
    if (this.closed || this.listener === null) return;
    try {
      this.listener.onOrderUpdate(u);
    } catch (e) {
      this.log.error({ venue: this.name, coid: t.coid, err: errorMessage(e) }, 'listener failed on an order update');
    }
  }

  /** Forget the oldest finished orders (a long run's memory stays flat). */
  protected prune(): void {
    let excess = this.tracked.size - TRACKED_MAX / 2;
    for (const [coid, t] of this.tracked) {
      if (excess <= 0) break;
      if (t.phase !== 'done') continue;
      this.tracked.delete(coid);
      if (t.exchangeOrderId !== undefined) this.idToCoid.delete(t.exchangeOrderId);
      if (t.actualOrderId !== undefined) this.idToCoid.delete(t.actualOrderId);
      excess--;
    }
  }

  // ---- trades → fills -----------------------------------------------------------------------------

  /** Serialize per-symbol trade work so fills come out in order and once. */
  protected withTradeLock<T>(symbol: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tradeLocks.get(symbol) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    this.tradeLocks.set(
      symbol,
      run.catch(() => undefined),
    );
    return run;
  }

  /** New trades of a symbol since the cursor → fills. */
  protected syncTrades(symbol: string): Promise<void> {
    return this.withTradeLock(symbol, async () => {
      const cur = this.tradeCursor.get(symbol) ?? { since: this.clock.now() - POLL_LOOKBACK_MS };
      const sym = this.ccxtSymbol(symbol);
      const paging = this.spec.trades;
      if (paging.paging === 'cursor') {
        // By time: from a little before the newest trade seen (never wider than the venue's window).
        const from = Math.max(cur.since - TRADE_OVERLAP_MS, this.clock.now() - this.spec.tradeWindowMs(this.marketType) + 60_000);
        const trades = await this.tradePages(sym, from);
        trades.sort(byTradeId);
        for (const tr of trades) {
          await this.emitTrade(tr);
          if (Number(tr.timestamp) > cur.since) cur.since = Number(tr.timestamp);
        }
        this.tradeCursor.set(symbol, cur);
        return;
      }
      for (let page = 0; page < 50 && !this.closed; page++) {
        const params = cur.lastId !== undefined ? paging.after(cur.lastId) : {};
        const since = cur.lastId !== undefined ? undefined : cur.since;
        const trades = await this.read('trades', () => this.ex!.fetchMyTrades(sym, since, paging.page, params));
        trades.sort(byTradeId);
        for (const tr of trades) {
          await this.emitTrade(tr);
          if (tr.id !== undefined && (cur.lastId === undefined || compareIds(tr.id, cur.lastId) > 0)) cur.lastId = tr.id;
        }
        if (trades.length < paging.page) break;
      }
      this.tradeCursor.set(symbol, cur);
    });
  }

  /** Every trade of a symbol from `since` (to `until`, within the venue's window), page after page by the venue's cursor. */
  protected async tradePages(sym: string, since: number, until?: number, retried = true): Promise<CcxtTrade[]> {
    const paging = this.spec.trades;
    if (paging.paging !== 'cursor') throw new Error('tradePages is for cursor-paged venues');
    const out: CcxtTrade[] = [];
    let next: Params | undefined = {};
    for (let page = 0; page < 50 && next !== undefined && !this.closed; page++) {
      const params: Params = { ...(until !== undefined ? { until } : {}), ...next };
      const get = (): Promise<CcxtTrade[]> => this.ex!.fetchMyTrades(sym, since, paging.page, params);
      const trades = retried ? await this.read('trades', get) : await get();
      out.push(...trades);
      next = trades.length >= paging.page ? paging.next(trades) : undefined;
    }
    return out;
  }

  protected tradeKey(tr: CcxtTrade): string {
    const id = (tr.symbol !== undefined ? this.ex!.markets?.[tr.symbol]?.id : undefined) ?? tr.symbol ?? '?';
    return `${id}:${tr.id}`;
  }

  /** One venue trade → at most one onFill, ever (per process). */
  protected async emitTrade(tr: CcxtTrade, known?: Tracked, parent?: CcxtOrder): Promise<void> {
    if (tr.id === undefined || tr.id === null) return;
    const symbolCcxt = tr.symbol ?? parent?.symbol;
    if (tr.symbol === undefined && symbolCcxt !== undefined) tr.symbol = symbolCcxt;
    const key = this.tradeKey(tr);
    if (this.seenTrades.has(key)) return;
    this.seenTrades.add(key); // claimed before any await: a stream and the poller never both report it
    const symbol = this.engineSymbol(symbolCcxt);
    const oid = toStr(tr.order);
    let coid = known?.coid ?? (oid !== undefined ? this.idToCoid.get(oid) : undefined);
    // An unknown order id may be the order one of our conditionals became (its client id is not ours;
    // only where conditionals become other orders: Binance USDⓈ-M).
    const becomesOther = this.spec.conditionalState !== undefined;
    if (coid === undefined && oid !== undefined && symbol !== undefined && becomesOther && (await this.learnTriggered(symbol)))
      coid = this.idToCoid.get(oid);
    // The close a position's trailing stop placed (no client id): the attribute pseudo-order's fill.
    if (
      coid === undefined &&
      symbol !== undefined &&
      (tr.info as Record<string, unknown> | undefined)?.['stopOrderType'] === TRAILING_CLOSE
    )
      coid = this.liveAttribute(symbol)?.coid;
    coid ??= this.spec.tradeClientId((tr.info ?? {}) as Record<string, unknown>) ?? toStr((tr as { clientOrderId?: string }).clientOrderId);
    if (coid === undefined && tr.order !== undefined && symbol !== undefined) {
      // A trade of an order we do not track (placed before a restart, or by someone else): ask for its client id.
      try {
        const o = await this.read('order', () => this.orderById(String(tr.order), this.ccxtSymbol(symbol)), 2);
        coid = toStr(o.clientOrderId);
        if (coid !== undefined) this.idToCoid.set(String(tr.order), coid);
      } catch (e) {
        this.seenTrades.delete(key); // try again next poll
        this.log.warn({ venue: this.name, trade: key, err: clean(e) }, 'could not find the order of a trade');
        return;
      }
    }
    if (symbol === undefined) return;
    const fill = this.toFill(tr, symbol, coid ?? '', parent);
    if (!(fill.qty > 0) || !isPossiblePrice(fill.price)) {
      // Garbage, not a trade: nothing is booked from it (a later read with sane numbers books it then).
      this.seenTrades.delete(key);
      if (!this.badTrades.has(key)) {
        this.badTrades.add(key);
        this.log.error(
          { venue: this.name, trade: key, amount: tr.amount, price: tr.price },
          'impossible trade in a venue answer: not booked',
        );
        this.alert({
          type: 'reconciliation',
          severity: 'critical',
          title: `${this.spec.label}: impossible trade reported`,
          message: `${this.spec.label} reported trade ${key}${coid ? ` of ${coid}` : ''} with quantity ${String(tr.amount)} at price ${String(tr.price)}: not booked. The journal keeps what it had; reconciliation compares balances. Check the account on ${this.spec.label}.`,
          key: `${this.name}:bad-trade:${key}`,
        });
      }
      return;
    }
    const t = this.tracked.get(fill.clientOrderId);
    // The venue's (gross) quantity: compared with its cumulative filled, even when a base-coin fee nets the fill.
    if (t !== undefined) t.fillQty += Number(tr.amount);
    if (this.seenTrades.size > SEEN_TRADES_MAX) {
      // Oldest first (Set keeps insertion order); the journal dedupes anything older anyway.
      let drop = this.seenTrades.size - SEEN_TRADES_MAX / 2;
      for (const k of this.seenTrades) {
        if (drop-- <= 0) break;
        this.seenTrades.delete(k);
      }
    }
    if (this.closed || this.listener === null) return;
    try {
      this.listener.onFill(fill);
    } catch (e) {
      this.log.error({ venue: this.name, trade: key, err: errorMessage(e) }, 'listener failed on a fill');
    }
  }

  /**
   * A triggered conditional trades under the id of the order it became, which we learn by reading
   * the conditional. Read our working conditionals of the symbol that have not shown it yet; true
   * when there were any.
   */
  protected async learnTriggered(symbol: string): Promise<boolean> {
    const pending = [...this.tracked.values()].filter(
      (t) => t.symbol === symbol && t.conditional && t.actualOrderId === undefined && (t.phase === 'live' || t.phase === 'stuck'),
    );
    for (const t of pending) {
      try {
        await this.queryOrder(t); // seen() records actualOrderId → coid
      } catch (e) {
        this.log.debug({ venue: this.name, coid: t.coid, err: clean(e) }, 'conditional lookup failed');
      }
    }
    return pending.length > 0;
  }

  protected toFill(tr: CcxtTrade, symbol: string, coid: string, parent?: CcxtOrder): Fill {
    const m = this.market(symbol);
    const price = Number(tr.price);
    const side = (tr.side ?? parent?.side) === 'sell' ? 'sell' : 'buy';
    // A spot buy whose fee is taken in the base coin delivers that much less of it: book the net
    // quantity, and the fee at its quote value, so both the holding and the cash match the account.
    const baseFee = this.marketType === 'spot' && side === 'buy' ? this.baseFee(tr, m) : 0;
    const qty = Number(tr.amount) - baseFee;
    const f: Fill = {
      tradeId: this.tradeKey(tr),
      clientOrderId: coid,
      symbol,
      side,
      price,
      qty,
      fee: this.feeInQuote(tr, m, price),
      feeCurrency: m.quote,
      liquidity: tr.takerOrMaker === 'maker' ? 'maker' : 'taker',
      ts: Number(tr.timestamp ?? parent?.lastTradeTimestamp ?? parent?.timestamp ?? this.clock.now()),
    };
    const oid = toStr(tr.order) ?? toStr(parent?.id);
    if (oid !== undefined) f.exchangeOrderId = oid;
    return f;
  }

  /** The part of a trade's fees charged in the base coin. */
  protected baseFee(tr: CcxtTrade, m: MarketInfo): number {
    const many = (tr as { fees?: CcxtTrade['fee'][] }).fees;
    const fees = many && many.length > 0 ? many : tr.fee ? [tr.fee] : [];
    let total = 0;
    for (const fee of fees) if (fee?.currency === m.base) total += Number(fee.cost ?? 0);
    return total;
  }

  /** The fee rule: quote as is, base × price, anything else (BNB…) 0 (logged once per currency). */
  protected feeInQuote(tr: CcxtTrade, m: MarketInfo, price: number): number {
    const many = (tr as { fees?: CcxtTrade['fee'][] }).fees;
    const fees = many && many.length > 0 ? many : tr.fee ? [tr.fee] : [];
    let total = 0;
    for (const fee of fees) {
      const cost = Number(fee?.cost ?? 0);
      if (!Number.isFinite(cost)) {
        this.log.warn({ venue: this.name, trade: tr.id, fee: fee?.cost }, 'a trade fee that is not a number: recorded as 0');
        continue;
      }
      if (cost === 0) continue;
      const cur = fee?.currency;
      if (cur === m.quote || cur === undefined) total += cost;
      else if (cur === m.base) total += cost * price;
      else if (!this.feeWarned.has(cur)) {
        this.feeWarned.add(cur);
        this.log.warn(
          { venue: this.name, currency: cur },
          `fees paid in ${cur} are not converted: recorded as 0 ${m.quote} in the journal`,
        );
      }
    }
    return total;
  }

  // ---- polling ------------------------------------------------------------------------------------

  protected async pollLoop(): Promise<void> {
    while (!this.closed) {
      await this.pause(this.o.pollMs);
      if (this.closed) break;
      try {
        for (const s of this.o.symbols) await this.pollSymbol(s);
        if (this.marketType === 'perp' && this.clock.now() >= this.nextFundingPoll) {
          this.nextFundingPoll = this.clock.now() + FUNDING_POLL_MS;
          for (const s of this.o.symbols) await this.pollFunding(s);
        }
        this.noteSuccess();
      } catch (e) {
        if (this.closed) break;
        this.noteFailure(e);
      }
    }
  }

  protected async pollSymbol(symbol: string): Promise<void> {
    await this.syncTrades(symbol);
    const working = [...this.tracked.values()].filter((t) => t.symbol === symbol && (t.phase === 'live' || t.phase === 'stuck'));
    if (working.length === 0) return;
    const open = new Map((await this.openOrders(symbol)).map((v) => [v.coid, v]));
    for (const t of working) {
      const v = open.get(t.coid);
      if (v !== undefined) await this.deliver(t, v);
      else await this.refresh(t);
    }
  }

  protected async pollFunding(symbol: string): Promise<void> {
    const since = this.fundingCursor.get(symbol) ?? this.clock.now();
    const rows = await this.fetchFunding(symbol, since);
    for (const p of rows) {
      if (this.seenFunding.has(p.paymentId)) continue;
      this.seenFunding.add(p.paymentId);
      if (p.ts > (this.fundingCursor.get(symbol) ?? 0)) this.fundingCursor.set(symbol, p.ts);
      if (!this.closed) this.listener?.onFunding?.(p);
    }
  }

  /** Open orders of a symbol (regular and, where the venue keeps them apart, conditional). */
  protected async openOrders(symbol: string): Promise<Seen[]> {
    const ex = this.ex!;
    const sym = this.ccxtSymbol(symbol);
    const lists = [await this.read('open orders', () => ex.fetchOpenOrders(sym))];
    if (this.marketType === 'perp' && this.spec.conditionalState)
      lists.push(await this.read('open orders', () => ex.fetchOpenOrders(sym, undefined, undefined, { trigger: true })));
    const out: Seen[] = [];
    for (const list of lists) {
      for (const o of list) {
        const id = String(o.id ?? '');
        const coid = this.idToCoid.get(id) ?? toStr(o.clientOrderId);
        const t = coid !== undefined ? this.tracked.get(coid) : undefined;
        out.push({ ...(await this.seen(t, o)), coid });
      }
    }
    return out;
  }

  // ---- streams ------------------------------------------------------------------------------------

  protected async streamLoop(kind: 'orders' | 'trades'): Promise<void> {
    const ex = this.ex!;
    let failures = 0;
    while (!this.closed) {
      try {
        const items = kind === 'orders' ? await ex.watchOrders() : await ex.watchMyTrades();
        if (failures > 0) {
          failures = 0;
          this.streamDown = false;
          this.log.info({ venue: this.name, stream: kind }, 'order stream back');
          // The engine reconciles on this: anything missed while the stream was down is fetched.
          if (!this.closed) this.listener?.onConnection?.(true, `${this.spec.label} ${kind} stream reconnected`);
        }
        if (kind === 'trades') for (const tr of items as CcxtTrade[]) await this.onStreamTrade(tr);
        else for (const o of items as CcxtOrder[]) await this.onStreamOrder(o);
      } catch (e) {
        if (this.closed) break;
        failures++;
        const err = clean(e);
        if (failures === 1) {
          this.streamDown = true;
          this.log.warn({ venue: this.name, stream: kind, err }, 'order stream down; REST polling continues');
          this.listener?.onConnection?.(false, `${this.spec.label} ${kind} stream down: ${err}`);
        }
        if (this.cx !== null && e instanceof this.cx.NotSupported) {
          this.log.warn({ venue: this.name, stream: kind, err }, 'order stream not supported here: REST polling only');
          return;
        }
        await this.pause(Math.min(WS_BACKOFF_MAX_MS, WS_BACKOFF_MS * 2 ** Math.min(failures - 1, 10)));
        await this.gate(); // no reconnect during a ban
      }
    }
  }

  protected async onStreamTrade(tr: CcxtTrade): Promise<void> {
    const symbol = this.engineSymbol(tr.symbol);
    if (symbol === undefined || !this.o.symbols.includes(symbol)) return;
    const coid = tr.order !== undefined ? this.idToCoid.get(String(tr.order)) : undefined;
    await this.withTradeLock(symbol, () => this.emitTrade(tr, coid !== undefined ? this.tracked.get(coid) : undefined));
  }

  protected async onStreamOrder(o: CcxtOrder): Promise<void> {
    const coid = this.idToCoid.get(String(o.id)) ?? toStr(o.clientOrderId);
    const t = coid !== undefined ? this.tracked.get(coid) : undefined;
    if (t === undefined || t.phase === 'done' || t.phase === 'pending') return;
    if (t.phase === 'sending') {
      t.early = o; // the stream beat the createOrder answer (Bybit pushes before it answers)
      return;
    }
    const info = (o.info ?? {}) as Record<string, unknown>;
    try {
      // Conditional updates (Binance ALGO_UPDATE) and orders in doubt are read again over REST.
      if (t.conditional || 'caid' in info || t.phase !== 'live') await this.refresh(t);
      else await this.deliver(t, await this.seen(t, o));
    } catch (e) {
      this.log.warn({ venue: this.name, coid: t.coid, err: clean(e) }, 'stream order update not applied; polling will');
    }
  }
}

function statusOf(o: CcxtOrder): OrderStatus {
  const filled = Number(o.filled ?? 0);
  switch (o.status) {
    case 'closed':
      return 'filled';
    case 'canceled':
    case 'cancelled':
      return 'cancelled';
    case 'expired':
      return 'expired';
    case 'rejected':
      return 'rejected';
    default:
      return filled > EPS ? 'partially_filled' : 'open';
  }
}

function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The venue's own sequence of a trade, where it sends one (Bybit's `seq`; its execIds are random UUIDs). */
const venueSeq = (t: CcxtTrade): number => {
  const seq = Number((t.info as Record<string, unknown> | undefined)?.['seq']);
  return Number.isFinite(seq) ? seq : 0;
};

/** Oldest first: by time, then the venue's sequence (trades of one millisecond), then the id. */
export const byTradeId = (a: CcxtTrade, b: CcxtTrade): number =>
  Number(a.timestamp ?? 0) - Number(b.timestamp ?? 0) || venueSeq(a) - venueSeq(b) || compareIds(String(a.id ?? ''), String(b.id ?? ''));
