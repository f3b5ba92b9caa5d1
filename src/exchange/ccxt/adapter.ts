/*
 * The live venue adapter: Binance spot and USDⓈ-M perpetuals, Bybit (v5, unified trading account)
 * spot and USDT linear perpetuals, through ccxt. Venue quirks live in one VenueSpec per venue
 * (BINANCE, BYBIT below); the class holds the rules that are the same everywhere.
 *
 * ccxt is loaded only in connect() (dynamic import): it costs ~120 MB and paper users never pay for
 * it. Before connect, market() answers the provisional defaultMarket(); after, the venue's real
 * precision and limits.
 *
 * The adapter is built in layers, one file each: requests.ts (state, request gate, retries),
 * sync.ts (venue → order updates and fills: polling, streams), orders.ts (submit, resolve, cancel)
 * and this one (connect, markets, reads). Venue quirks: spec.ts, binance.ts, bybit.ts.
 */
import type { Exchange, FundingHistory as CcxtFunding, Market as CcxtMarket, Position as CcxtPosition, Trade as CcxtTrade } from 'ccxt';
import { UserError } from '../../core/errors.ts';
import { isFiniteNumber } from '../../core/num.ts';
import { isTerminal } from '../../core/order-state.ts';
import type { Balance, Fill, MarketInfo, Order } from '../../core/types.ts';
import { defaultMarket } from '../default-market.ts';
import type { ExchangeClient, FundingPayment, NativeTrailing, VenueOrder, VenuePosition } from '../types.ts';
import { VenueUnreachable, clean, venueWords } from './errors.ts';
import { CcxtOrders } from './orders.ts';
import { isConditional, toStr, type CcxtModule } from './spec.ts';
import { POLL_LOOKBACK_MS, type Seen } from './state.ts';
import { byTradeId } from './sync.ts';

export class CcxtExchange extends CcxtOrders implements ExchangeClient {
  get nativeTrailing(): NativeTrailing | null {
    return this.spec.nativeTrailing[this.marketType];
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    const mod = (await import('ccxt')) as unknown as { default?: CcxtModule } & CcxtModule;
    const cx = mod.default ?? mod;
    this.cx = cx;
    const o = this.o;
    const cls = this.spec.ccxtClass(o.marketType);
    const config = { enableRateLimit: true, options: this.spec.options(o.marketType, o.recvWindowMs) };
    let ex: Exchange;
    if (o.exchange !== undefined) {
      ex = o.exchange as Exchange;
      ex.options = { ...ex.options, ...config.options };
    } else {
      const ctor = (o.websocket ? cx.pro : cx) as unknown as Record<string, new (c: unknown) => Exchange>;
      const C = ctor[cls];
      if (!C) throw new UserError(`ccxt has no ${cls} class`);
      ex = new C(config);
    }
    this.ex = ex;
    o.instrument?.(ex);
    this.spec.prepare?.(ex, o.marketType);
    ex.apiKey = o.credentials.apiKey;
    ex.secret = o.credentials.secret;
    if (o.credentials.password !== undefined) ex.password = o.credentials.password;
    if (o.testnet) this.spec.useTestnet(ex, o.marketType);
    if (o.apiUrl !== undefined) rewriteUrls(ex, o.apiUrl, o.wsUrl);
    else if (o.wsUrl !== undefined) rewriteUrls(ex, undefined, o.wsUrl);
    if (o.websocket && o.wsUrl?.startsWith('ws://')) await ex.loadHttpProxyAgent(); // plain ws:// needs ccxt's agent
    this.baseRateLimit = Number(ex.rateLimit);
    this.installGate(ex, cx);

    const where = `${this.envLabel}${o.apiUrl ? ` via ${hostOf(o.apiUrl)}` : ''}`;
    /** Start-up may try again later when the venue was only unreachable (network, 5xx, rate limit, garbage). */
    const unreachable = (e: unknown, msg: string): UserError =>
      this.failure(e) === 'network' || this.failure(e) === 'rate' ? new VenueUnreachable(msg) : new UserError(msg);
    try {
      await this.read('markets', () => ex.loadMarkets(true));
    } catch (e) {
      throw unreachable(e, `cannot load ${where} markets: ${venueWords(e)}`);
    }
    for (const s of o.symbols) {
      const m = ex.markets?.[this.ccxtSymbol(s)];
      if (m === undefined) throw new UserError(`${this.envLabel} has no market ${s} (ccxt symbol ${this.ccxtSymbol(s)})`);
      this.markets.set(s, this.toMarketInfo(s, m));
    }
    try {
      // Signed requests carry our timestamp: measure the offset to the venue's clock once.
      const diff = await this.read('server time', () => ex.loadTimeDifference());
      if (Math.abs(Number(diff)) > 1000)
        this.log.warn({ venue: this.name, offsetMs: diff }, 'local clock differs from the venue clock; compensating');
    } catch (e) {
      this.log.warn({ venue: this.name, err: clean(e) }, 'could not read the venue time');
    }
    try {
      await this.read('balances', () => ex.fetchBalance());
    } catch (e) {
      if (this.failure(e) === 'auth') {
        const hint = this.spec.keysHint(o.testnet, o.marketType);
        throw new UserError(
          `${where} rejected the API keys: ${venueWords(e)}. Check EXCHANGE_API_KEY / EXCHANGE_API_SECRET, the key's IP allow-list and trading permission. ${hint}.`,
        );
      }
      throw unreachable(e, `cannot reach ${where}: ${venueWords(e)}`);
    }
    if (this.spec.checkAccount) {
      const check = this.spec.checkAccount;
      const bad = await this.read('account', () => check(ex, o.marketType)).catch((e: unknown) => {
        throw unreachable(e, `cannot read the ${where} account: ${venueWords(e)}`);
      });
      if (bad !== null) throw new UserError(`${where}: ${bad}`);
    }
    if (o.marketType === 'perp') await this.setupPerps();

    const now = this.clock.now();
    for (const s of o.symbols) {
      this.tradeCursor.set(s, { since: now - POLL_LOOKBACK_MS });
      // Funding from the connect on; what settled before (while the bot was down) is the reconciliation's,
      // which knows the journal's last payment and the account's first start.
      this.fundingCursor.set(s, now);
    }
    this.connected = true;
    this.setUp(true, `connected to ${where}`);
    this.loops.push(this.pollLoop());
    if (o.websocket) {
      if (ex.has['watchOrders'] && ex.has['watchMyTrades']) {
        this.loops.push(this.streamLoop('orders'), this.streamLoop('trades'));
      } else this.log.warn({ venue: this.name }, 'this ccxt class has no order streams: REST polling only');
    }
    this.log.info({ venue: this.name, env: this.environment, symbols: o.symbols }, `connected to ${where}`);
  }

  /** Margin mode and leverage per symbol ("no need to change" answers are fine). */
  protected async setupPerps(): Promise<void> {
    const ex = this.ex!;
    const cx = this.cx!;
    // A position already open (a restart) keeps the leverage it runs at: setting the configured one would
    // re-lever it at the venue (isolated margin: less margin, liquidation closer) behind the journal's back,
    // and above risk.maxLeverage when the risk engine had opened it lower. Entries set their own leverage.
    const open = new Map((await this.positionsOf(ex)).map((p) => [p.symbol, p]));
    for (const s of this.o.symbols) {
      const sym = this.ccxtSymbol(s);
      try {
        const set = this.spec.setMarginMode;
        const note = await this.read('margin mode', () =>
          set ? set(ex, this.o.marginMode, sym, this.o.leverage) : ex.setMarginMode(this.o.marginMode, sym).then(() => undefined),
        );
        if (note !== undefined) {
          this.log.info({ venue: this.name, symbol: s }, note);
          this.alert({
            type: 'engine',
            severity: 'info',
            title: `${this.spec.label}: margin mode`,
            message: `${note}.`,
            key: 'margin-mode',
          });
        }
      } catch (e) {
        if (!this.spec.isNoChange(e, cx)) {
          // e.g. "cannot change margin type with an open position": keep trading, tell the trader.
          this.log.warn({ venue: this.name, symbol: s, err: clean(e) }, 'could not set the margin mode');
          this.alert({
            type: 'engine',
            severity: 'warning',
            title: `${s}: margin mode not set`,
            message: `${this.spec.label} refused to switch ${s} to ${this.o.marginMode} margin: ${venueWords(e)}. Change it on the venue (close positions/orders first).`,
            key: `margin-mode:${s}`,
          });
        }
      }
      const held = open.get(s);
      if (held) {
        this.leverageSet.set(s, held.leverage);
        if (held.leverage !== this.o.leverage)
          this.log.info({ venue: this.name, symbol: s, leverage: held.leverage }, 'open position: its leverage is kept');
        continue;
      }
      await this.ensureLeverage(s, this.o.leverage).catch((e: unknown) => {
        throw new UserError(`${this.spec.label} refused leverage ${this.o.leverage} for ${s}: ${venueWords(e)}`);
      });
    }
  }

  protected async ensureLeverage(symbol: string, leverage: number): Promise<void> {
    if (this.leverageSet.get(symbol) === leverage) return;
    try {
      await this.read('leverage', () => this.ex!.setLeverage(leverage, this.ccxtSymbol(symbol)));
    } catch (e) {
      if (!this.spec.isNoChange(e, this.cx!)) throw e;
    }
    this.leverageSet.set(symbol, leverage);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    const ex = this.ex;
    const bounded = async (p: Promise<unknown>, ms: number): Promise<void> => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([p.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms).unref()))]);
      clearTimeout(timer);
    };
    if (ex !== null) await bounded(ex.close(), 2000); // websockets and pooled HTTP sockets
    await bounded(Promise.allSettled(this.loops), 3000);
    this.connected = false;
    this.setUp(false, 'closed');
  }

  // ---- markets ------------------------------------------------------------------------------------

  market(symbol: string): MarketInfo {
    return this.markets.get(symbol) ?? defaultMarket(symbol, this.marketType);
  }

  protected ccxtSymbol(symbol: string): string {
    if (this.marketType !== 'perp' || symbol.includes(':')) return symbol;
    return `${symbol}:${symbol.split('/')[1] ?? 'USDT'}`;
  }

  /** The engine symbol of a ccxt symbol. */
  protected engineSymbol(ccxtSymbol: string | undefined): string | undefined {
    if (ccxtSymbol === undefined) return undefined;
    for (const s of this.o.symbols) if (this.ccxtSymbol(s) === ccxtSymbol || s === ccxtSymbol) return s;
    return this.marketType === 'perp' ? ccxtSymbol.split(':')[0] : ccxtSymbol;
  }

  protected toMarketInfo(symbol: string, m: NonNullable<CcxtMarket>): MarketInfo {
    const d = defaultMarket(symbol, this.marketType);
    const step = Number(m.precision?.amount);
    const tick = Number(m.precision?.price);
    const qtyStep = step > 0 ? step : d.qtyStep;
    return {
      symbol,
      base: m.base ?? d.base,
      quote: m.quote ?? d.quote,
      type: this.marketType,
      qtyStep,
      priceStep: tick > 0 ? tick : d.priceStep,
      minQty: Number(m.limits?.amount?.min) > 0 ? Number(m.limits.amount!.min) : qtyStep,
      minNotional: Number(m.limits?.cost?.min) > 0 ? Number(m.limits.cost!.min) : 0,
      maxLeverage: Number(m.limits?.leverage?.max) > 0 ? Number(m.limits.leverage!.max) : this.marketType === 'perp' ? 125 : 1,
    };
  }

  // ---- reads (ExchangeClient) ---------------------------------------------------------------------

  async fetchBalances(): Promise<Balance[]> {
    const ex = this.requireEx();
    return this.spec.balances(await this.readPublic('balances', () => ex.fetchBalance()), this.marketType);
  }

  async fetchOpenOrders(symbol?: string): Promise<VenueOrder[]> {
    this.requireEx();
    const out: VenueOrder[] = [];
    for (const s of symbol !== undefined ? [symbol] : this.o.symbols) {
      const list = await this.wrap('open orders', () => this.openOrders(s));
      for (const v of list) out.push(this.toVenueOrder(s, v));
    }
    return out.sort((a, b) => a.ts - b.ts);
  }

  async fetchOrder(clientOrderId: string, symbol: string): Promise<VenueOrder | null> {
    this.requireEx();
    const known = this.tracked.get(clientOrderId);
    // Untracked (after a restart) perps orders may be regular or conditional: ask both.
    const kinds =
      known !== undefined ? [known.conditional] : this.marketType === 'perp' && this.spec.conditionalState ? [false, true] : [false];
    for (const conditional of kinds) {
      const minimal: Order = {
        clientOrderId,
        symbol,
        side: 'buy',
        type: conditional ? 'stop_market' : 'market',
        tif: 'GTC',
        reduceOnly: false,
        status: 'open',
        filledQty: 0,
        avgPrice: 0,
        fee: 0,
        createdAt: 0,
        updatedAt: 0,
      };
      const t = known ?? this.untracked(minimal, conditional);
      const v = await this.wrap('order', () => this.withRetries('order', () => this.queryOrder(t)));
      if (v === null) continue;
      if (known === undefined && !this.tracked.has(clientOrderId)) {
        // Known from now on (reconciliation after a restart): polling follows it while it works.
        // Its earlier trades are the journal's business (reconciliation fetches them).
        t.status = v.status;
        t.fillQty = v.filled;
        t.venueFilled = v.filled;
        t.venueFilledReported = v.filled;
        t.phase = isTerminal(v.status) ? 'done' : 'live';
        t.order.type = this.spec.orderType(v.raw.info ?? {});
        t.order.side = v.raw.side === 'sell' ? 'sell' : 'buy';
        t.conditional = isConditional(this.spec, t.order, this.marketType);
        if (v.id) t.exchangeOrderId = v.id;
        this.tracked.set(clientOrderId, t);
      }
      if (v.id) this.idToCoid.set(v.id, clientOrderId);
      return this.toVenueOrder(symbol, v);
    }
    return null;
  }

  async fetchFills(symbol: string, sinceTs: number): Promise<Fill[]> {
    const ex = this.requireEx();
    const sym = this.ccxtSymbol(symbol);
    const window = this.spec.tradeWindowMs(this.marketType);
    const out: Fill[] = [];
    const seen = new Set<string>();
    const now = this.clock.now();
    const take = async (trades: CcxtTrade[]): Promise<void> => {
      trades.sort(byTradeId);
      for (const tr of trades) {
        const key = this.tradeKey(tr);
        if (seen.has(key) || Number(tr.timestamp) < sinceTs) continue;
        seen.add(key);
        out.push(this.toFill(tr, symbol, (await this.coidOf(tr, symbol)) ?? ''));
      }
    };
    // Walk the venue's widest time window forward (Binance spot 24 h, USDⓈ-M and Bybit 7 days). Binance:
    // to the first trade, then page by trade id (ids cannot be combined with a time range), which runs
    // to the newest. Bybit: every window, all its pages by cursor.
    const paging = this.spec.trades;
    let from = Math.max(0, sinceTs);
    for (let windows = 0; from <= now && windows < 400; windows++) {
      const until = Math.min(from + window - 1, now + 60_000);
      if (paging.paging === 'cursor') {
        const start = from;
        await take(await this.readPublic('trades', () => this.tradePages(sym, start, until, false)));
        from = until + 1;
        continue;
      }
      const first = await this.readPublic('trades', () => ex.fetchMyTrades(sym, from, paging.page, { until }));
      await take(first);
      if (first.length >= paging.page) {
        let last = [...first].sort(byTradeId).at(-1)!.id!;
        for (let page = 0; page < 1000; page++) {
          const next = await this.readPublic('trades', () => ex.fetchMyTrades(sym, undefined, paging.page, paging.after(last)));
          await take(next);
          if (next.length < paging.page) break;
          last = [...next].sort(byTradeId).at(-1)!.id!;
        }
        break;
      }
      from = until + 1;
    }
    return out.sort((a, b) => a.ts - b.ts);
  }

  protected async coidOf(tr: CcxtTrade, symbol: string): Promise<string | undefined> {
    const oid = toStr(tr.order);
    if (oid === undefined) return undefined;
    const known = this.idToCoid.get(oid);
    if (known !== undefined) return known;
    // The order one of our conditionals became (Binance USDⓈ-M): its own client id is the venue's, not ours.
    if (this.spec.conditionalState !== undefined && (await this.learnTriggered(symbol))) {
      const learnt = this.idToCoid.get(oid);
      if (learnt !== undefined) return learnt;
    }
    const o = await this.readPublic('order', () => this.orderById(oid, this.ccxtSymbol(symbol)));
    const coid = toStr(o.clientOrderId);
    if (coid !== undefined) this.idToCoid.set(oid, coid);
    return coid;
  }

  async fetchPositions(): Promise<VenuePosition[]> {
    return this.positionsOf(this.requireEx());
  }

  /** The venue's open positions on our symbols (also read while connecting, before requireEx() allows it). */
  private async positionsOf(ex: Exchange): Promise<VenuePosition[]> {
    if (this.marketType === 'spot') return []; // spot holdings are balances (reconciliation compares those)
    const syms = this.o.symbols.map((s) => this.ccxtSymbol(s));
    const positions = this.spec.positions;
    const rows = await this.readPublic('positions', () => (positions ? positions(ex, syms) : ex.fetchPositions(syms)));
    const out: VenuePosition[] = [];
    for (const p of rows) {
      const qty = Math.abs(Number(p.contracts ?? 0)) * Number(p.contractSize ?? 1);
      const symbol = this.engineSymbol(p.symbol);
      if (!(qty > 0) || symbol === undefined) continue;
      const vp: VenuePosition = {
        symbol,
        side: p.side === 'short' ? 'short' : 'long',
        qty,
        entryPrice: Number(p.entryPrice ?? 0),
        leverage: positionLeverage(p) ?? this.leverageSet.get(symbol) ?? this.o.leverage,
      };
      if (isFiniteNumber(p.liquidationPrice) && p.liquidationPrice > 0) vp.liquidationPrice = p.liquidationPrice;
      if (isFiniteNumber(p.unrealizedPnl)) vp.unrealizedPnl = p.unrealizedPnl;
      out.push(vp);
    }
    return out;
  }

  async fetchFundingRate(symbol: string): Promise<{ rate: number; nextTs?: number } | null> {
    if (this.marketType !== 'perp') return null;
    const ex = this.requireEx();
    const r = await this.readPublic('funding rate', () => ex.fetchFundingRate(this.ccxtSymbol(symbol)));
    if (!isFiniteNumber(r.fundingRate)) return null;
    const next = r.nextFundingTimestamp ?? r.fundingTimestamp;
    return isFiniteNumber(next) ? { rate: r.fundingRate, nextTs: next } : { rate: r.fundingRate };
  }

  async fetchOpenInterest(symbol: string): Promise<number | null> {
    if (this.marketType !== 'perp') return null;
    const ex = this.requireEx();
    const r = await this.readPublic('open interest', () => ex.fetchOpenInterest(this.ccxtSymbol(symbol)));
    const v = Number(r.openInterestAmount ?? r.baseVolume);
    return Number.isFinite(v) ? v : null;
  }

  async fetchFunding(symbol: string, sinceTs: number): Promise<FundingPayment[]> {
    if (this.marketType !== 'perp') return [];
    const ex = this.requireEx();
    const rows: CcxtFunding[] = await this.readPublic('funding payments', () =>
      ex.fetchFundingHistory(this.ccxtSymbol(symbol), sinceTs, this.spec.trades.page),
    );
    return rows
      .filter((r) => Number(r.timestamp) >= sinceTs)
      .map((r): FundingPayment => {
        // The rate the payment settled at, when the venue says (Bybit's funding execution does, Binance's income does not).
        const rate = Number((r as CcxtFunding & { rate?: unknown }).rate ?? NaN);
        return {
          paymentId: toStr(r.id) ?? `${symbol}:${r.timestamp}`,
          symbol,
          amount: this.spec.fundingAmount?.(r) ?? Number(r.amount),
          ...(Number.isFinite(rate) ? { rate } : {}),
          ts: Number(r.timestamp),
        };
      })
      .sort((a, b) => a.ts - b.ts);
  }

  protected toVenueOrder(symbol: string, v: Seen): VenueOrder {
    const o = v.raw;
    const info = (o.info ?? {}) as Record<string, unknown>;
    const vo: VenueOrder = {
      clientOrderId: v.coid ?? toStr(o.clientOrderId) ?? '',
      exchangeOrderId: v.id,
      symbol,
      side: o.side === 'sell' ? 'sell' : 'buy',
      type: this.spec.orderType(info),
      status: v.status,
      qty: v.qty,
      filledQty: v.filled,
      reduceOnly: o.reduceOnly === true,
      ts: Number(o.timestamp ?? this.clock.now()),
    };
    if (isFiniteNumber(o.price) && o.price > 0) vo.price = o.price;
    const stop = o.triggerPrice ?? o.stopPrice;
    if (isFiniteNumber(stop) && stop > 0) vo.stopPrice = stop;
    return vo;
  }

  protected requireEx(): Exchange {
    if (this.ex === null || !this.connected) throw new Error(`${this.spec.label} is not connected`);
    return this.ex;
  }
}

function positionLeverage(p: CcxtPosition): number | undefined {
  if (isFiniteNumber(p.leverage) && p.leverage > 0) return p.leverage;
  // Binance positionRisk v3 has no leverage field: notional / initial margin.
  const n = Math.abs(Number(p.notional ?? 0));
  const im = Number(p.initialMargin ?? 0);
  return n > 0 && im > 0 ? Math.round(n / im) : undefined;
}

/** Host (and port) of a URL, without any user:password a proxy URL may carry. */
function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'a custom URL';
  }
}

/** Point every REST (and optionally websocket) URL at another host, keeping the paths. */
function rewriteUrls(ex: Exchange, apiUrl: string | undefined, wsUrl: string | undefined): void {
  const api = ex.urls['api'] as Record<string, unknown>;
  const base = apiUrl?.replace(/\/+$/, '');
  const wsBase = wsUrl?.replace(/\/+$/, '');
  const swap = (v: string, to: string): string => {
    const u = new URL(v); // Bybit's 'https://api.{hostname}' parses too ({hostname} is a host label here)
    // A bare host ('https://api.{hostname}') keeps no path: ccxt appends '/' + path itself.
    const path = u.pathname === '/' && !v.endsWith('/') ? '' : u.pathname;
    return to + path + u.search;
  };
  for (const [k, v] of Object.entries(api)) {
    if (typeof v === 'string' && /^https?:\/\//.test(v) && base !== undefined) api[k] = swap(v, base);
    else if (k === 'ws' && wsBase !== undefined && v && typeof v === 'object') {
      const walk = (obj: Record<string, unknown>): void => {
        for (const [wk, wv] of Object.entries(obj)) {
          if (typeof wv === 'string' && /^wss?:\/\//.test(wv)) obj[wk] = swap(wv, wsBase);
          else if (wv && typeof wv === 'object') walk(wv as Record<string, unknown>);
        }
      };
      walk(v as Record<string, unknown>);
    }
  }
}
