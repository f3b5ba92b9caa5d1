// A local fake of Bybit's v5 REST API (spot or linear USDT perpetuals, one per instance) and its
// private websocket (/v5/private: order + execution topics), for running the real ccxt against it.
//
// Point ccxt at it with the adapter's `apiUrl: fake.url, wsUrl: fake.wsUrl` (every host replaced,
// paths kept). Answers use Bybit's envelope `{ retCode, retMsg, result, retExtInfo, time }` with HTTP
// 200 for refusals, like the venue. Orders match against a scripted price path (`setPrice`);
// `book.liquidity` caps what an order fills per price step (partial fills). Faults per endpoint:
// `inject({kind, path, …})` (see FaultKind in shared.ts; a `status` fault with no body answers an HTML
// gateway page, as Bybit's edge does). `apiKey`: private calls with another key get 10003; `secret`:
// every X-BAPI-SIGN is checked (10004).
//
// Modelled: a unified trading account (UTA; `unified: false` gives a classic one: CONTRACT wallet,
// per-symbol switch-isolated), account-wide margin mode, leverage per symbol, orderLinkId unique per
// account, conditional orders that keep their id when they trigger, spot fees in the coin received,
// Funding executions (execFee > 0 = paid), /v5/order/realtime answering open orders and the last
// `realtimeClosedLimit` closed ones by id (older ones only in /v5/order/history), execution pages by
// cursor with UUID execIds (not ordered). Stricter than Bybit on purpose: unknown order parameters,
// spot-only/linear-only parameters in the wrong category and page sizes over the limit get 10001,
// which catches mapping mistakes.

import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  BookReject,
  FakeBook,
  FakeHttpServer,
  FakeVenue,
  type BookEvent,
  type FakeIncome,
  type FakeMarket,
  type FakeOrder,
  type FakeRequest,
  type FakeResponse,
  type FakeTrade,
  type RejectKind,
} from './shared.ts';

export { BookReject, FakeBook } from './shared.ts';
export type { Fault, FakeMarket, FakeOrder, FakeRequest, FakeTrade } from './shared.ts';

export type BybitMarginMode = 'REGULAR_MARGIN' | 'ISOLATED_MARGIN' | 'PORTFOLIO_MARGIN';

export interface FakeBybitOptions {
  type: 'spot' | 'perp';
  /** Clock for order/trade times and the request log (default Date.now). */
  now?: () => number;
  markets?: FakeMarket[];
  balances?: Record<string, number>;
  prices?: Record<string, number>;
  apiKey?: string;
  secret?: string;
  makerFee?: number;
  takerFee?: number;
  /** A unified trading account (default) or a classic one. */
  unified?: boolean;
  /** The UTA's margin mode at start (default REGULAR_MARGIN, i.e. cross). */
  marginMode?: BybitMarginMode;
}

export const FAKE_SPOT_MARKETS: FakeMarket[] = [
  { id: 'BTCUSDT', base: 'BTC', quote: 'USDT', tick: 0.01, step: 0.000001, minQty: 0.000048, minNotional: 5, maxLeverage: 1 },
  { id: 'ETHUSDT', base: 'ETH', quote: 'USDT', tick: 0.01, step: 0.00001, minQty: 0.00062, minNotional: 5, maxLeverage: 1 },
];

export const FAKE_LINEAR_MARKETS: FakeMarket[] = [
  { id: 'BTCUSDT', base: 'BTC', quote: 'USDT', tick: 0.1, step: 0.001, minQty: 0.001, minNotional: 5, maxLeverage: 100 },
  { id: 'ETHUSDT', base: 'ETH', quote: 'USDT', tick: 0.01, step: 0.01, minQty: 0.01, minNotional: 5, maxLeverage: 100 },
];

interface Err {
  code: number;
  msg: string;
}

const SPOT_ERRORS: Record<RejectKind, Err> = {
  insufficient_balance: { code: 170131, msg: 'Insufficient balance.' },
  insufficient_margin: { code: 170131, msg: 'Insufficient balance.' },
  min_notional: { code: 170140, msg: 'Order value exceeded lower limit.' },
  lot_size: { code: 170137, msg: 'Order quantity has too many decimals.' },
  min_qty: { code: 170136, msg: 'Order quantity lower than the minimum.' },
  duplicate: { code: 170141, msg: 'Duplicate clientOrderId.' },
  reduce_only: { code: 10001, msg: 'params error: reduceOnly is not supported for spot' },
  would_take: { code: 170218, msg: 'The LIMIT-MAKER order is rejected due to invalid price.' },
  would_trigger: { code: 170130, msg: "Data sent for paramter 'triggerPrice' is not valid." },
  bad_symbol: { code: 170121, msg: 'Invalid symbol.' },
  bad_params: { code: 10001, msg: 'params error' },
};

const LINEAR_ERRORS: Record<RejectKind, Err> = {
  insufficient_balance: { code: 110007, msg: 'ab not enough for new order' },
  insufficient_margin: { code: 110007, msg: 'ab not enough for new order' },
  min_notional: { code: 110094, msg: 'Order does not meet minimum order value 5USDT' },
  lot_size: { code: 10001, msg: 'Qty invalid' },
  min_qty: { code: 10001, msg: 'The number of contracts exceeds minimum limit allowed' },
  duplicate: { code: 110072, msg: 'OrderLinkedID is duplicate' },
  reduce_only: { code: 110017, msg: 'Reduce-only rule not satisfied' },
  would_take: { code: 110003, msg: 'Order price is out of permissible range' },
  would_trigger: { code: 110093, msg: 'expect Falling, but trigger_price >= current' },
  bad_symbol: { code: 10001, msg: 'params error: symbol invalid' },
  bad_params: { code: 10001, msg: 'params error' },
};

/** Parameters /v5/order/create reads (anything else is a mapping mistake here). */
const CREATE_PARAMS = new Set([
  'category',
  'symbol',
  'isLeverage',
  'side',
  'orderType',
  'qty',
  'marketUnit',
  'price',
  'triggerDirection',
  'orderFilter',
  'triggerPrice',
  'triggerBy',
  'timeInForce',
  'positionIdx',
  'orderLinkId',
  'takeProfit',
  'stopLoss',
  'reduceOnly',
  'closeOnTrigger',
  'smpType',
  'mmp',
  'tpslMode',
]);
const LINEAR_ONLY = ['reduceOnly', 'triggerDirection', 'positionIdx', 'closeOnTrigger', 'tpslMode'];
const SPOT_ONLY = ['marketUnit', 'orderFilter', 'isLeverage'];
const CANCEL_PARAMS = new Set(['category', 'symbol', 'orderId', 'orderLinkId', 'orderFilter']);
const ORDER_LINK_ID = /^[A-Za-z0-9_-]{1,36}$/;
const DAY = 86_400_000;

const f = (x: number | undefined): string => {
  if (x === undefined || !Number.isFinite(x)) return '0';
  const s = x.toFixed(10).replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
};

/** A stable UUID-looking id: Bybit's execIds (and linear orderIds) are not ordered. */
const uuid = (seed: string): string => {
  const h = createHash('sha1').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

const isWorking = (o: FakeOrder): boolean => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED';
/** Client ids of the orders triggered trailing stops place (shown without an orderLinkId, like every `fake-` id). */
const TRAIL_CLOSE = 'fake-trail-';
const TRADING_STOP_PARAMS = new Set([
  'category',
  'symbol',
  'tpslMode',
  'positionIdx',
  'takeProfit',
  'stopLoss',
  'trailingStop',
  'activePrice',
  'tpTriggerBy',
  'slTriggerBy',
  'tpSize',
  'slSize',
]);
const isStop = (o: FakeOrder): boolean => o.kind === 'stop_market' || o.kind === 'stop_limit';

/** A Bybit execution row: a trade, or a funding settlement. */
interface ExecRow {
  time: number;
  seq: number;
  type: 'Trade' | 'Funding';
  symbol: string;
  orderId: string;
  orderLinkId: string;
  json: Record<string, unknown>;
}

export class FakeBybit extends FakeVenue<WebSocket & { authed?: boolean; topics?: Set<string> }> {
  readonly type: 'spot' | 'perp';
  readonly category: 'spot' | 'linear';
  readonly book: FakeBook;
  readonly http: FakeHttpServer;
  readonly now: () => number;
  apiKey: string | undefined;
  secret: string | undefined;
  unified: boolean;
  /** The UTA's margin mode (account-wide). */
  marginMode: BybitMarginMode;
  /** Closed orders /v5/order/realtime still answers for by id (Bybit keeps 500); older ones: history only. */
  realtimeClosedLimit = 500;
  fundingRate = 0.0001;
  /** Keep the private sockets open but push nothing (a silently dead stream). */
  streamSilent = false;

  private readonly fundingRows = new Map<number, { size: number; mark: number }>();
  /** Linear positions' trailing stops (/v5/position/trading-stop): a price distance behind the best price since set. */
  readonly trailing = new Map<string, { distance: number; activePrice: number; best: number; active: boolean }>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private subWaiters: Array<() => void> = [];
  private seqConn = 0;
  private seqMsg = 0;

  constructor(opts: FakeBybitOptions) {
    super();
    this.type = opts.type;
    this.category = opts.type === 'spot' ? 'spot' : 'linear';
    this.now = opts.now ?? (() => Date.now());
    this.apiKey = opts.apiKey;
    this.secret = opts.secret;
    this.unified = opts.unified ?? true;
    this.marginMode = opts.marginMode ?? 'REGULAR_MARGIN';
    this.book = new FakeBook({
      type: opts.type,
      markets: opts.markets ?? (opts.type === 'spot' ? FAKE_SPOT_MARKETS : FAKE_LINEAR_MARKETS),
      balances: opts.balances ?? { USDT: 10_000 },
      now: this.now,
      ...(opts.makerFee !== undefined ? { makerFee: opts.makerFee } : {}),
      ...(opts.takerFee !== undefined ? { takerFee: opts.takerFee } : {}),
      feeAsset: 'received', // spot: a buy pays in the coin bought, a sell in the quote
      postOnlyExpires: true, // a PostOnly that would take is accepted, then cancelled
    });
    for (const m of this.book.markets.values()) this.book.prices.set(m.id, opts.prices?.[m.id] ?? (m.base === 'BTC' ? 30_000 : 2_000));
    for (const m of this.book.markets.values()) this.book.leverage.set(m.id, 10);
    this.book.listeners.push((e) => this.push(e));
    const gatewayPage = '<html><head><title>503 Service Temporarily Unavailable</title></head><body>503</body></html>';
    this.http = new FakeHttpServer(
      (r) => this.route(r),
      this.now,
      (req, socket, head) => this.upgrade(req, socket, head),
      { statusBody: gatewayPage, acceptedStatusBody: gatewayPage },
    );
  }

  /** The order-creating requests' orderLinkIds, one entry per request that reached the server. */
  sentClientOrderIds(): string[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === '/v5/order/create').map((r) => r.params['orderLinkId'] ?? '?');
  }

  /** Settle funding on the symbol's position (positive rate: longs pay). */
  fund(symbol: string, rate: number): FakeIncome | undefined {
    const p = this.book.positions.get(symbol);
    const size = p?.qty ?? 0;
    const inc = this.book.fund(symbol, rate);
    if (inc) this.fundingRows.set(inc.tranId, { size, mark: this.book.price(symbol) });
    return inc;
  }

  order(coid: string): FakeOrder | undefined {
    return this.book.byCoid.get(coid);
  }

  /** Every execution the venue would list (trades and funding), for assertions. */
  executionIds(type: 'Trade' | 'Funding' = 'Trade'): string[] {
    return this.executions()
      .filter((x) => x.type === type)
      .map((x) => String(x.json['execId']));
  }

  /** Resolves once a private stream is subscribed to orders and executions (immediately if one is). */
  streamReady(): Promise<void> {
    if ([...this.streams].some((w) => w.topics?.has('order') && w.topics.has('execution'))) return Promise.resolve();
    return new Promise((r) => this.subWaiters.push(r));
  }

  // ---- envelope ---------------------------------------------------------------------------------

  private ok(result: unknown, headers?: Record<string, string>): FakeResponse {
    return { status: 200, body: { retCode: 0, retMsg: 'OK', result, retExtInfo: {}, time: this.now() }, ...(headers ? { headers } : {}) };
  }

  private fail(e: Err, result: unknown = {}): FakeResponse {
    return { status: 200, body: { retCode: e.code, retMsg: e.msg, result, retExtInfo: {}, time: this.now() } };
  }

  private get errors(): Record<RejectKind, Err> {
    return this.type === 'spot' ? SPOT_ERRORS : LINEAR_ERRORS;
  }

  /** What private answers carry (the order endpoints' per-key limit). */
  private limitHeaders(): Record<string, string> {
    return { 'X-Bapi-Limit': '10', 'X-Bapi-Limit-Status': '9', 'X-Bapi-Limit-Reset-Timestamp': String(this.now() + 1000) };
  }

  // ---- routing ----------------------------------------------------------------------------------

  private route(r: FakeRequest): FakeResponse {
    const key = `${r.method} ${r.path}`;
    const p = r.params;
    switch (key) {
      case 'GET /v5/market/time':
        return this.ok({ timeSecond: String(Math.floor(this.now() / 1000)), timeNano: `${this.now()}000000` });
      case 'GET /v5/market/instruments-info':
        return this.instruments(p);
      case 'GET /v5/market/tickers':
        return this.tickers(p);
      case 'GET /v5/market/open-interest':
        if (p['category'] !== 'linear' || !this.book.markets.has(p['symbol'] ?? '')) return this.fail(LINEAR_ERRORS.bad_symbol);
        return this.ok({
          symbol: p['symbol'],
          category: 'linear',
          list: [{ openInterest: '12345.678', timestamp: String(Math.floor(this.now() / 3_600_000) * 3_600_000) }],
          nextPageCursor: '',
        });
      default:
    }
    if (!r.path.startsWith('/v5/')) return { status: 404, body: 'Not Found' };
    const denied = this.checkAuth(r);
    if (denied) return denied;
    try {
      switch (key) {
        case 'GET /v5/user/query-api':
          return this.ok({
            id: '1',
            note: 'skipper',
            apiKey: this.apiKey ?? '',
            readOnly: 0,
            secret: '',
            permissions: { ContractTrade: ['Order', 'Position'], Spot: ['SpotTrade'], Wallet: [], Derivatives: [] },
            ips: ['*'],
            type: 1,
            deadlineDay: 80,
            unified: 0,
            uta: this.unified ? 1 : 0,
            userID: 1,
            isMaster: true,
          });
        case 'GET /v5/account/info':
          return this.ok({
            marginMode: this.unified ? this.marginMode : 'REGULAR_MARGIN',
            updatedTime: String(this.now()),
            unifiedMarginStatus: this.unified ? 5 : 1,
            dcpStatus: 'OFF',
            timeWindow: 10,
            smpGroup: 0,
            isMasterTrader: false,
            spotHedgingStatus: 'OFF',
          });
        case 'GET /v5/account/wallet-balance':
          return this.wallet(p);
        case 'POST /v5/account/set-margin-mode':
          return this.setMarginMode(p);
        case 'POST /v5/position/switch-isolated':
          return this.switchIsolated(p);
        case 'POST /v5/position/set-leverage':
          return this.setLeverage(p);
        case 'GET /v5/position/list':
          return this.positionList(p);
        case 'POST /v5/position/trading-stop':
          return this.tradingStop(p);
        case 'POST /v5/order/create':
          return this.create(p);
        case 'POST /v5/order/cancel':
          return this.cancel(p);
        case 'GET /v5/order/realtime':
          return this.realtime(p);
        case 'GET /v5/order/history':
          return this.history(p);
        case 'GET /v5/execution/list':
          return this.executionList(p);
        default:
      }
    } catch (e) {
      if (e instanceof BookReject) return this.fail(this.errors[e.kind]);
      throw e;
    }
    return this.fail({ code: 10017, msg: `request path not found or request method is invalid: ${key}` });
  }

  private checkAuth(r: FakeRequest): FakeResponse | undefined {
    const h = (k: string): string => String(r.headers[k] ?? '');
    const key = h('x-bapi-api-key');
    if (!key) return this.fail({ code: 10003, msg: 'API key is invalid.' });
    if (this.apiKey !== undefined && key !== this.apiKey) return this.fail({ code: 10003, msg: 'API key is invalid.' });
    if (this.secret !== undefined) {
      const payload =
        h('x-bapi-timestamp') + key + h('x-bapi-recv-window') + (r.method === 'POST' ? (r.raw?.body ?? '') : (r.raw?.query ?? ''));
      const sign = createHmac('sha256', this.secret).update(payload).digest('hex');
      if (sign !== h('x-bapi-sign')) return this.fail({ code: 10004, msg: 'error sign! origin_string[...]' });
    }
    return undefined;
  }

  private badCategory(p: Record<string, string>): FakeResponse | undefined {
    if (p['category'] === this.category) return undefined;
    return this.fail({ code: 10001, msg: `params error: this fake serves category ${this.category}, got ${p['category'] ?? 'none'}` });
  }

  // ---- market data ------------------------------------------------------------------------------

  private instruments(p: Record<string, string>): FakeResponse {
    const bad = this.badCategory(p);
    if (bad) return bad;
    if (p['status'] === 'PreLaunch') return this.ok({ category: this.category, list: [], nextPageCursor: '' });
    const list = [...this.book.markets.values()].map((m) =>
      this.type === 'spot'
        ? {
            symbol: m.id,
            baseCoin: m.base,
            quoteCoin: m.quote,
            innovation: '0',
            status: 'Trading',
            marginTrading: 'utaOnly',
            stTag: '0',
            lotSizeFilter: {
              basePrecision: f(m.step),
              quotePrecision: '0.00000001',
              minOrderQty: f(m.minQty),
              maxOrderQty: '9000',
              minOrderAmt: f(m.minNotional),
              maxOrderAmt: '4000000',
            },
            priceFilter: { tickSize: f(m.tick) },
            riskParameters: { priceLimitRatioX: '0.01', priceLimitRatioY: '0.02' },
          }
        : {
            symbol: m.id,
            contractType: 'LinearPerpetual',
            status: 'Trading',
            baseCoin: m.base,
            quoteCoin: m.quote,
            launchTime: '1585526400000',
            deliveryTime: '0',
            deliveryFeeRate: '',
            priceScale: '2',
            leverageFilter: { minLeverage: '1', maxLeverage: f(m.maxLeverage), leverageStep: '0.01' },
            priceFilter: { minPrice: f(m.tick), maxPrice: '1999999.8', tickSize: f(m.tick) },
            lotSizeFilter: {
              maxOrderQty: '1190',
              minOrderQty: f(m.minQty),
              qtyStep: f(m.step),
              postOnlyMaxOrderQty: '1190',
              maxMktOrderQty: '500',
              minNotionalValue: f(m.minNotional),
            },
            unifiedMarginTrade: true,
            fundingInterval: 480,
            settleCoin: m.quote,
            copyTrading: 'both',
            upperFundingRate: '0.005',
            lowerFundingRate: '-0.005',
            isPreListing: false,
            preListingInfo: null,
          },
    );
    return this.ok({ category: this.category, list, nextPageCursor: '' });
  }

  private tickers(p: Record<string, string>): FakeResponse {
    const bad = this.badCategory(p);
    if (bad) return bad;
    const syms = p['symbol'] !== undefined ? [p['symbol']] : [...this.book.markets.keys()];
    const list = [];
    for (const s of syms) {
      const last = this.book.prices.get(s);
      if (last === undefined) return this.fail(this.errors.bad_symbol);
      const common = {
        symbol: s,
        lastPrice: f(last),
        bid1Price: f(last),
        bid1Size: '1',
        ask1Price: f(last),
        ask1Size: '1',
        prevPrice24h: f(last),
        price24hPcnt: '0',
        highPrice24h: f(last),
        lowPrice24h: f(last),
        turnover24h: f(1000 * last),
        volume24h: '1000',
      };
      list.push(
        this.type === 'spot'
          ? { ...common, usdIndexPrice: f(last) }
          : {
              ...common,
              indexPrice: f(last),
              markPrice: f(last),
              prevPrice1h: f(last),
              openInterest: '12345.678',
              openInterestValue: f(12345.678 * last),
              fundingRate: f(this.fundingRate),
              nextFundingTime: String(Math.ceil((this.now() + 1) / 28_800_000) * 28_800_000),
              predictedDeliveryPrice: '',
              basisRate: '',
              deliveryFeeRate: '',
              deliveryTime: '0',
              basis: '',
            },
      );
    }
    return this.ok({ category: this.category, list });
  }

  // ---- account ----------------------------------------------------------------------------------

  private wallet(p: Record<string, string>): FakeResponse {
    const want = this.unified ? 'UNIFIED' : this.type === 'spot' ? 'SPOT' : 'CONTRACT';
    if (p['accountType'] !== want) return this.fail({ code: 10001, msg: `accountType only support ${want}` });
    const coins: Array<Record<string, unknown>> = [];
    if (this.type === 'spot') {
      for (const [asset, b] of this.book.balances) {
        const wallet = b.free + b.locked;
        coins.push({
          coin: asset,
          equity: f(wallet),
          walletBalance: f(wallet),
          locked: f(b.locked),
          ...(this.unified ? {} : { free: f(b.free) }),
          borrowAmount: '0',
          availableToWithdraw: f(b.free),
          accruedInterest: '0',
          totalOrderIM: '0',
          totalPositionIM: '0',
          totalPositionMM: '0',
          unrealisedPnl: '0',
          cumRealisedPnl: '0',
          bonus: '0',
          marginCollateral: true,
          collateralSwitch: true,
        });
      }
    } else {
      const q = this.book.quote;
      const wallet = this.book.bal(q).free;
      let posIM = 0;
      let upnl = 0;
      for (const [s, pos] of this.book.positions) {
        posIM += this.book.positionMargin(s);
        upnl += pos.qty * (this.book.price(s) - pos.entry);
      }
      const orderIM = this.book.openOrderMargin();
      coins.push({
        coin: q,
        equity: f(wallet + upnl),
        walletBalance: f(wallet),
        locked: '0',
        borrowAmount: '0',
        availableToWithdraw: f(wallet - posIM - orderIM),
        accruedInterest: '0',
        totalOrderIM: f(orderIM),
        totalPositionIM: f(posIM),
        totalPositionMM: '0',
        unrealisedPnl: f(upnl),
        cumRealisedPnl: '0',
        bonus: '0',
        marginCollateral: true,
        collateralSwitch: true,
      });
    }
    return this.ok({ list: [{ accountType: want, totalEquity: '0', totalWalletBalance: '0', totalAvailableBalance: '0', coin: coins }] });
  }

  private setMarginMode(p: Record<string, string>): FakeResponse {
    if (!this.unified) return this.fail({ code: 10001, msg: 'only unified accounts can set the account margin mode' });
    const want = p['setMarginMode'] as BybitMarginMode;
    if (!['REGULAR_MARGIN', 'ISOLATED_MARGIN', 'PORTFOLIO_MARGIN'].includes(want))
      return this.fail({ code: 10001, msg: 'params error: setMarginMode' });
    if ([...this.book.positions.values()].some((x) => x.qty !== 0) || this.book.working().length > 0)
      return this.fail(
        { code: 3400045, msg: 'Set margin mode failed' },
        { reasons: [{ reasonCode: '3400154', reasonMsg: 'Please close all positions and orders first.' }] },
      );
    this.marginMode = want;
    for (const m of this.book.markets.keys()) this.book.marginType.set(m, want === 'ISOLATED_MARGIN' ? 'ISOLATED' : 'CROSSED');
    return this.ok({ reasons: [] });
  }

  private switchIsolated(p: Record<string, string>): FakeResponse {
    if (this.unified) return this.fail({ code: 100028, msg: 'The API cannot be accessed by unified account users.' });
    const bad = this.badCategory(p);
    if (bad) return bad;
    const sym = p['symbol'] ?? '';
    if (!this.book.markets.has(sym)) return this.fail(this.errors.bad_symbol);
    if (p['buyLeverage'] === undefined || p['buyLeverage'] !== p['sellLeverage'])
      return this.fail({ code: 10001, msg: 'params error: buyLeverage/sellLeverage' });
    const want = p['tradeMode'] === '1' ? 'ISOLATED' : 'CROSSED';
    if (this.book.marginType.get(sym) === want) return this.fail({ code: 110026, msg: 'Cross/isolated margin mode is not modified' });
    const pos = this.book.positions.get(sym);
    if (pos && pos.qty !== 0)
      return this.fail({ code: 110024, msg: 'You have an existing position, so the margin mode cannot be switched' });
    this.book.marginType.set(sym, want);
    this.book.leverage.set(sym, Number(p['buyLeverage']));
    return this.ok({});
  }

  private setLeverage(p: Record<string, string>): FakeResponse {
    const bad = this.badCategory(p);
    if (bad) return bad;
    const m = this.book.markets.get(p['symbol'] ?? '');
    if (!m) return this.fail(this.errors.bad_symbol);
    const lev = Number(p['buyLeverage']);
    if (p['buyLeverage'] !== p['sellLeverage'])
      return this.fail({ code: 10001, msg: 'buy leverage and sell leverage must be the same in one-way mode' });
    if (!(lev >= 1 && lev <= m.maxLeverage)) return this.fail({ code: 10001, msg: `leverage invalid: ${p['buyLeverage']}` });
    if (this.book.leverage.get(m.id) === lev) return this.fail({ code: 110043, msg: 'Set leverage not modified' });
    this.book.leverage.set(m.id, lev);
    return this.ok({});
  }

  private positionList(p: Record<string, string>): FakeResponse {
    const bad = this.badCategory(p);
    if (bad) return bad;
    if (p['symbol'] === undefined && p['settleCoin'] === undefined && p['baseCoin'] === undefined)
      return this.fail({ code: 10001, msg: 'params error: symbol, baseCoin or settleCoin is required' });
    const syms = p['symbol'] !== undefined ? [p['symbol']] : [...this.book.markets.keys()];
    const list = [];
    for (const s of syms) {
      if (!this.book.markets.has(s)) return this.fail(this.errors.bad_symbol);
      const pos = this.book.positions.get(s);
      const qty = pos?.qty ?? 0;
      if (qty === 0 && p['symbol'] === undefined) continue; // settleCoin listings skip flat symbols
      const mark = this.book.price(s);
      const lev = this.book.leverage.get(s) ?? 1;
      const entry = pos?.entry ?? 0;
      const isolated = this.unified ? this.marginMode === 'ISOLATED_MARGIN' : this.book.marginType.get(s) === 'ISOLATED';
      const liq = qty === 0 ? 0 : qty > 0 ? entry * (1 - 1 / lev + 0.005) : entry * (1 + 1 / lev - 0.005);
      const bust = qty === 0 ? 0 : qty > 0 ? entry * (1 - 1 / lev) : entry * (1 + 1 / lev);
      list.push({
        positionIdx: 0,
        riskId: 1,
        riskLimitValue: '2000000',
        symbol: s,
        side: qty > 0 ? 'Buy' : qty < 0 ? 'Sell' : '',
        size: f(Math.abs(qty)),
        avgPrice: f(entry),
        positionValue: f(Math.abs(qty) * entry),
        tradeMode: isolated ? 1 : 0,
        autoAddMargin: 0,
        positionStatus: 'Normal',
        leverage: f(lev),
        markPrice: f(mark),
        liqPrice: qty === 0 ? '' : f(liq),
        bustPrice: qty === 0 ? '' : f(bust),
        positionIM: f(this.book.positionMargin(s)),
        positionMM: f(Math.abs(qty) * mark * 0.005),
        positionBalance: f(this.book.positionMargin(s)),
        takeProfit: '0.00',
        stopLoss: '0.00',
        trailingStop: f(this.trailing.get(s)?.distance ?? 0),
        activePrice: f(this.trailing.get(s)?.activePrice ?? 0),
        unrealisedPnl: f(qty * (mark - entry)),
        curRealisedPnl: '0',
        cumRealisedPnl: '0',
        adlRankIndicator: qty === 0 ? 0 : 2,
        createdTime: String(pos?.updateTime ?? this.now()),
        updatedTime: String(pos?.updateTime ?? this.now()),
        seq: 1,
        isReduceOnly: false,
      });
    }
    return this.ok({ category: 'linear', list, nextPageCursor: '' });
  }

  /**
   * Bybit v5 trading-stop, trailing part: `trailingStop` is a price distance ("0" removes it),
   * `activePrice` the price from which it trails (default: at once). An attribute of the position,
   * not an order: no order id, no orderLinkId; it goes when the position does.
   */
  private tradingStop(p: Record<string, string>): FakeResponse {
    const bad = this.badCategory(p);
    if (bad) return bad;
    if (this.type !== 'perp') return this.fail({ code: 10001, msg: 'params error: category only support linear or inverse' });
    const unknown = Object.keys(p).filter((k) => !TRADING_STOP_PARAMS.has(k));
    if (unknown.length) return this.fail({ code: 10001, msg: `params error: unexpected ${unknown.join(',')}` });
    const symbol = p['symbol'] ?? '';
    if (!this.book.markets.has(symbol)) return this.fail(this.errors.bad_symbol);
    const qty = this.book.positions.get(symbol)?.qty ?? 0;
    if (qty === 0) return this.fail({ code: 10001, msg: 'can not set tp/sl/ts for zero position' });
    const distance = Number(p['trailingStop'] ?? 'NaN');
    if (!(distance >= 0)) return this.fail({ code: 10001, msg: 'params error: trailingStop invalid' });
    if (distance === 0) this.trailing.delete(symbol);
    else {
      const last = this.book.price(symbol);
      if (distance >= last) return this.fail({ code: 10001, msg: 'params error: trailingStop invalid' });
      const activePrice = Number(p['activePrice'] ?? 0);
      this.trailing.set(symbol, { distance, activePrice, best: last, active: !(activePrice > 0) });
    }
    return this.ok({}, this.limitHeaders());
  }

  override setPrice(symbol: string, price: number): void {
    super.setPrice(symbol, price);
    const t = this.trailing.get(symbol);
    const qty = this.book.positions.get(symbol)?.qty ?? 0;
    if (t === undefined) return;
    if (qty === 0) return void this.trailing.delete(symbol);
    const long = qty > 0;
    if (!t.active) {
      if (long ? price < t.activePrice : price > t.activePrice) return;
      t.active = true;
      t.best = price;
    }
    t.best = long ? Math.max(t.best, price) : Math.min(t.best, price);
    if (long ? price > t.best - t.distance : price < t.best + t.distance) return;
    // Triggered: a reduce-only market order closes the position (its own order id, no orderLinkId).
    this.trailing.delete(symbol);
    this.book.place({
      symbol,
      side: long ? 'SELL' : 'BUY',
      kind: 'market',
      venueType: 'Market',
      coid: `${TRAIL_CLOSE}${this.book.orders.length + 1}`,
      qty: Math.abs(qty),
      tif: 'IOC',
      postOnly: false,
      reduceOnly: true,
      conditional: false,
    });
  }

  // ---- orders -----------------------------------------------------------------------------------

  private create(p: Record<string, string>): FakeResponse {
    const bad = this.badCategory(p);
    if (bad) return bad;
    const unknown = Object.keys(p).filter((k) => !CREATE_PARAMS.has(k));
    const misplaced = Object.keys(p).filter((k) => (this.type === 'spot' ? LINEAR_ONLY : SPOT_ONLY).includes(k));
    if (unknown.length || misplaced.length)
      return this.fail({ code: 10001, msg: `params error: unexpected ${[...unknown, ...misplaced].join(',')}` });
    const side = p['side'];
    const orderType = p['orderType'];
    if (side !== 'Buy' && side !== 'Sell') return this.fail({ code: 10001, msg: 'params error: side invalid' });
    if (orderType !== 'Market' && orderType !== 'Limit') return this.fail({ code: 10001, msg: 'params error: orderType invalid' });
    if (orderType === 'Limit' && p['price'] === undefined)
      return this.fail({ code: 10001, msg: 'params error: price is required for Limit' });
    const link = p['orderLinkId'];
    if (link !== undefined && !ORDER_LINK_ID.test(link)) return this.fail({ code: 10001, msg: 'params error: orderLinkId invalid' });
    if (link !== undefined && this.book.byCoid.has(link)) return this.fail(this.errors.duplicate);
    const tif = p['timeInForce'] ?? (orderType === 'Market' ? 'IOC' : 'GTC');
    if (!['GTC', 'IOC', 'FOK', 'PostOnly'].includes(tif)) return this.fail({ code: 10001, msg: 'params error: timeInForce invalid' });
    const trigger = p['triggerPrice'] !== undefined ? Number(p['triggerPrice']) : undefined;
    if (trigger !== undefined) {
      if (this.type === 'spot' && p['orderFilter'] !== 'StopOrder')
        return this.fail({ code: 10001, msg: 'params error: spot conditional orders need orderFilter=StopOrder' });
      if (this.type === 'perp') {
        const dir = p['triggerDirection'];
        if (dir !== '1' && dir !== '2')
          return this.fail({ code: 10001, msg: 'params error: triggerDirection is required for conditional orders' });
        const last = this.book.price(p['symbol'] ?? '');
        if (dir === '1' && trigger <= last)
          return this.fail({ code: 110092, msg: `expect Rising, but trigger_price[${trigger}] <= current[${last}]??LastPrice` });
        if (dir === '2' && trigger >= last)
          return this.fail({ code: 110093, msg: `expect Falling, but trigger_price[${trigger}] >= current[${last}]??LastPrice` });
        if ((dir === '2') !== (side === 'Sell'))
          return this.fail({ code: 10001, msg: 'fake: only stop-loss style triggers are modelled (sell falling, buy rising)' });
      }
    } else if (p['orderFilter'] === 'StopOrder')
      return this.fail({ code: 10001, msg: 'params error: triggerPrice is required for StopOrder' });
    const qty = Number(p['qty']);
    // Spot market orders: qty is in the quote coin for buys unless marketUnit says otherwise.
    const quoteUnit =
      this.type === 'spot' && orderType === 'Market' && (p['marketUnit'] ?? (side === 'Buy' ? 'quoteCoin' : 'baseCoin')) === 'quoteCoin';
    const kind =
      trigger !== undefined ? (orderType === 'Market' ? 'stop_market' : 'stop_limit') : orderType === 'Market' ? 'market' : 'limit';
    const o = this.book.place({
      symbol: p['symbol'] ?? '',
      side: side === 'Buy' ? 'BUY' : 'SELL',
      kind,
      venueType: orderType,
      coid: link ?? `fake-${this.book.orders.length + 1}`,
      ...(quoteUnit ? { quoteQty: qty } : { qty }),
      ...(p['price'] !== undefined ? { price: Number(p['price']) } : {}),
      ...(trigger !== undefined ? { stopPrice: trigger } : {}),
      // The book applies IOC at placement: a conditional's applies only once it triggers.
      tif: tif === 'PostOnly' || trigger !== undefined ? 'GTC' : tif,
      postOnly: tif === 'PostOnly',
      reduceOnly: p['reduceOnly'] === 'true',
      conditional: false, // Bybit conditionals keep their order id when they trigger
    });
    return this.ok({ orderId: this.oid(o), orderLinkId: link ?? '' }, this.limitHeaders());
  }

  private cancel(p: Record<string, string>): FakeResponse {
    const bad = this.badCategory(p);
    if (bad) return bad;
    const unknown = Object.keys(p).filter((k) => !CANCEL_PARAMS.has(k));
    if (unknown.length) return this.fail({ code: 10001, msg: `params error: unexpected ${unknown.join(',')}` });
    const notFound: Err =
      this.type === 'spot' ? { code: 170213, msg: 'Order does not exist.' } : { code: 110001, msg: 'Order does not exist' };
    let o = this.lookup(p);
    if (o && this.type === 'spot') {
      // Spot: orderFilter (default Order) must name the kind: StopOrder for an untriggered conditional.
      const stopWaiting = isStop(o) && !o.triggered;
      if ((p['orderFilter'] ?? 'Order') === 'StopOrder' ? !isStop(o) : stopWaiting) o = undefined;
    }
    if (!o || !isWorking(o)) return this.fail(notFound);
    this.book.cancel(o);
    return this.ok({ orderId: this.oid(o), orderLinkId: this.link(o) }, this.limitHeaders());
  }

  private lookup(p: Record<string, string>): FakeOrder | undefined {
    let o: FakeOrder | undefined;
    if (p['orderId'] !== undefined && p['orderId'] !== '') o = this.book.orders.find((x) => this.oid(x) === p['orderId']);
    else if (p['orderLinkId'] !== undefined) o = this.book.byCoid.get(p['orderLinkId']);
    if (o && p['symbol'] !== undefined && o.symbol !== p['symbol']) return undefined;
    return o;
  }

  private realtime(p: Record<string, string>): FakeResponse {
    const bad = this.badCategory(p);
    if (bad) return bad;
    if (this.type === 'perp' && p['symbol'] === undefined && p['settleCoin'] === undefined && p['baseCoin'] === undefined)
      return this.fail({ code: 10001, msg: 'params error: symbol, baseCoin or settleCoin is required' });
    let list: FakeOrder[];
    if (p['orderId'] !== undefined || p['orderLinkId'] !== undefined) {
      // By id: open ones, and closed ones among the most recent `realtimeClosedLimit`.
      const o = this.lookup(p);
      const recentClosed = this.book.orders
        .filter((x) => !isWorking(x))
        .sort((a, b) => b.updateTime - a.updateTime)
        .slice(0, this.realtimeClosedLimit);
      list = o && (isWorking(o) || recentClosed.includes(o)) ? [o] : [];
    } else {
      list = this.book.working(p['symbol']);
      if (p['orderFilter'] === 'StopOrder') list = list.filter((o) => isStop(o) && !o.triggered);
      else if (p['orderFilter'] === 'Order') list = list.filter((o) => !isStop(o) || o.triggered);
    }
    return this.ok({ category: this.category, list: list.map((o) => this.orderJson(o)).reverse(), nextPageCursor: '' });
  }

  private history(p: Record<string, string>): FakeResponse {
    const bad = this.badCategory(p);
    if (bad) return bad;
    let list = this.book.orders.filter((o) => !isWorking(o));
    if (p['orderId'] !== undefined || p['orderLinkId'] !== undefined) {
      const o = this.lookup(p);
      list = o && !isWorking(o) ? [o] : [];
    }
    if (p['symbol'] !== undefined) list = list.filter((o) => o.symbol === p['symbol']);
    list.sort((a, b) => b.updateTime - a.updateTime);
    const limit = Math.min(50, Number(p['limit'] ?? 20));
    return this.ok({ category: this.category, list: list.slice(0, limit).map((o) => this.orderJson(o)), nextPageCursor: '' });
  }

  private executions(): ExecRow[] {
    const rows: ExecRow[] = this.book.trades.map((t) => {
      const o = this.book.byId.get(t.orderId)!;
      return {
        time: t.time,
        seq: t.id,
        type: 'Trade',
        symbol: t.symbol,
        orderId: this.oid(o),
        orderLinkId: this.link(o),
        json: this.execJson(t),
      };
    });
    for (const inc of this.book.income) {
      const at = this.fundingRows.get(inc.tranId) ?? { size: 0, mark: 0 };
      rows.push({
        time: inc.time,
        seq: inc.tranId,
        type: 'Funding',
        symbol: inc.symbol,
        orderId: '',
        orderLinkId: '',
        json: {
          symbol: inc.symbol,
          orderId: '',
          orderLinkId: '',
          side: at.size >= 0 ? 'Buy' : 'Sell',
          orderPrice: '0',
          orderQty: '0',
          leavesQty: '0',
          createType: '',
          orderType: 'UNKNOWN',
          stopOrderType: '',
          execFee: f(-inc.amount), // positive: the account paid
          execId: uuid(`funding-${inc.tranId}`),
          execPrice: f(at.mark),
          execQty: f(Math.abs(at.size)),
          execType: 'Funding',
          execValue: f(Math.abs(at.size) * at.mark),
          execTime: String(inc.time),
          feeCurrency: inc.asset,
          isMaker: false,
          feeRate: f(inc.rate),
          tradeIv: '',
          markIv: '',
          markPrice: f(at.mark),
          indexPrice: '',
          underlyingPrice: '',
          blockTradeId: '',
          closedSize: '0',
          seq: inc.tranId,
        },
      });
    }
    return rows;
  }

  private executionList(p: Record<string, string>): FakeResponse {
    const bad = this.badCategory(p);
    if (bad) return bad;
    const limit = Number(p['limit'] ?? 50);
    if (!(limit >= 1 && limit <= 100)) return this.fail({ code: 10001, msg: `params error: limit must be 1-100, got ${p['limit']}` });
    const start = p['startTime'] !== undefined ? Number(p['startTime']) : undefined;
    const end = p['endTime'] !== undefined ? Number(p['endTime']) : undefined;
    // Without both: a 7-day window from the one given (or the last 7 days).
    const from = start ?? (end !== undefined ? end - 7 * DAY : this.now() - 7 * DAY);
    const to = end ?? (start !== undefined ? start + 7 * DAY : this.now());
    if (to - from > 7 * DAY) return this.fail({ code: 10001, msg: 'The time range between startTime and endTime cannot exceed 7 days' });
    let rows = this.executions().filter((x) => x.time >= from && x.time <= to);
    if (p['symbol'] !== undefined) rows = rows.filter((x) => x.symbol === p['symbol']);
    if (p['execType'] !== undefined) rows = rows.filter((x) => x.type === p['execType']);
    if (p['orderId'] !== undefined) rows = rows.filter((x) => x.orderId === p['orderId']);
    if (p['orderLinkId'] !== undefined) rows = rows.filter((x) => x.orderLinkId === p['orderLinkId']);
    rows.sort((a, b) => b.time - a.time || b.seq - a.seq); // newest first
    const offset = p['cursor'] !== undefined ? Number(/^page-(\d+)$/.exec(p['cursor'])?.[1] ?? NaN) : 0;
    if (!Number.isInteger(offset)) return this.fail({ code: 10001, msg: 'params error: cursor invalid' });
    const page = rows.slice(offset, offset + limit);
    const more = offset + limit < rows.length;
    return this.ok({ category: this.category, list: page.map((x) => x.json), nextPageCursor: more ? `page-${offset + limit}` : '' });
  }

  // ---- shapes -----------------------------------------------------------------------------------

  /** Bybit's order id: a long number on spot, a UUID on linear. */
  oid(o: FakeOrder): string {
    return this.type === 'spot' ? `19${String(o.id).padStart(17, '0')}` : uuid(`order-${o.id}`);
  }

  private link(o: FakeOrder): string {
    return o.coid.startsWith('fake-') ? '' : o.coid;
  }

  private bybitStatus(o: FakeOrder): { orderStatus: string; cancelType: string; rejectReason: string } {
    const spot = this.type === 'spot';
    const waiting = isStop(o) && !o.triggered;
    switch (o.status) {
      case 'NEW':
        return { orderStatus: waiting ? 'Untriggered' : 'New', cancelType: 'UNKNOWN', rejectReason: 'EC_NoError' };
      case 'PARTIALLY_FILLED':
        return { orderStatus: 'PartiallyFilled', cancelType: 'UNKNOWN', rejectReason: 'EC_NoError' };
      case 'FILLED':
        return { orderStatus: 'Filled', cancelType: 'UNKNOWN', rejectReason: 'EC_NoError' };
      case 'CANCELED':
        return {
          orderStatus: waiting ? 'Deactivated' : spot && o.filled > 0 ? 'PartiallyFilledCanceled' : 'Cancelled',
          cancelType: 'CancelByUser',
          rejectReason: 'EC_PerCancelRequest',
        };
      case 'EXPIRED':
        return {
          orderStatus: spot && o.filled > 0 ? 'PartiallyFilledCanceled' : 'Cancelled',
          cancelType: 'UNKNOWN',
          rejectReason: o.postOnly ? 'EC_PostOnlyWillTakeLiquidity' : 'EC_NoImmediateQtyToFill',
        };
      default:
        return { orderStatus: 'Rejected', cancelType: 'UNKNOWN', rejectReason: 'EC_Others' };
    }
  }

  private orderJson(o: FakeOrder, withCategory = false): Record<string, unknown> {
    const spot = this.type === 'spot';
    const st = this.bybitStatus(o);
    const fees = this.book.trades.filter((t) => t.orderId === o.id).reduce((a, t) => a + t.commission, 0);
    const quoteUnit = o.quoteQty !== undefined;
    const row: Record<string, unknown> = {
      ...(withCategory ? { category: this.category } : {}),
      orderId: this.oid(o),
      orderLinkId: this.link(o),
      blockTradeId: '',
      symbol: o.symbol,
      price: f(o.price ?? 0),
      qty: f(quoteUnit ? o.quoteQty : o.qty),
      side: o.side === 'BUY' ? 'Buy' : 'Sell',
      isLeverage: spot ? '0' : '',
      positionIdx: 0,
      orderStatus: st.orderStatus,
      createType: 'CreateByUser',
      cancelType: st.cancelType,
      rejectReason: st.rejectReason,
      avgPrice: o.filled > 0 ? f(o.cumQuote / o.filled) : spot ? '0' : '',
      leavesQty: f(isWorking(o) ? o.qty - o.filled : 0),
      leavesValue: f(isWorking(o) ? (o.qty - o.filled) * (o.price ?? 0) : 0),
      cumExecQty: f(o.filled),
      cumExecValue: f(o.cumQuote),
      cumExecFee: f(fees),
      timeInForce: o.postOnly ? 'PostOnly' : o.tif,
      orderType: o.venueType,
      stopOrderType: o.coid.startsWith(TRAIL_CLOSE) ? 'TrailingStop' : isStop(o) ? 'Stop' : '',
      orderIv: '',
      marketUnit: spot && o.venueType === 'Market' ? (quoteUnit ? 'quoteCoin' : 'baseCoin') : '',
      triggerPrice: f(o.stopPrice ?? 0),
      takeProfit: '',
      stopLoss: '',
      tpTriggerBy: '',
      slTriggerBy: '',
      triggerDirection: isStop(o) ? (o.side === 'SELL' ? 2 : 1) : 0,
      triggerBy: isStop(o) ? 'LastPrice' : '',
      lastPriceOnCreated: '',
      reduceOnly: o.reduceOnly,
      closeOnTrigger: false,
      placeType: '',
      smpType: 'None',
      smpGroup: 0,
      smpOrderId: '',
      createdTime: String(o.time),
      updatedTime: String(o.updateTime),
    };
    // ccxt tells contract orders by this key.
    if (!spot) Object.assign(row, { tpslMode: '', tpLimitPrice: '', slLimitPrice: '' });
    return row;
  }

  private execJson(t: FakeTrade, withCategory = false): Record<string, unknown> {
    const o = this.book.byId.get(t.orderId)!;
    const spot = this.type === 'spot';
    const rate = t.maker ? this.book.makerFee : this.book.takerFee;
    return {
      ...(withCategory ? { category: this.category } : {}),
      symbol: t.symbol,
      orderId: this.oid(o),
      orderLinkId: this.link(o),
      side: t.side === 'BUY' ? 'Buy' : 'Sell',
      orderPrice: f(o.price ?? 0),
      orderQty: f(o.qty),
      leavesQty: f(Math.max(0, o.qty - o.filled)),
      ...(spot ? {} : { createType: 'CreateByUser' }), // spot executions carry no createType
      orderType: o.venueType,
      stopOrderType: o.coid.startsWith(TRAIL_CLOSE) ? 'TrailingStop' : isStop(o) ? 'Stop' : '',
      execFee: f(t.commission),
      execId: uuid(`exec-${t.id}`),
      execPrice: f(t.price),
      execQty: f(t.qty),
      execType: 'Trade',
      execValue: f(t.quoteQty),
      execTime: String(t.time),
      feeCurrency: t.commissionAsset,
      isMaker: t.maker,
      feeRate: f(rate),
      tradeIv: '',
      markIv: '',
      markPrice: f(t.price),
      indexPrice: '',
      underlyingPrice: '',
      blockTradeId: '',
      closedSize: spot ? '' : f(t.realizedPnl !== 0 ? t.qty : 0),
      seq: t.id,
    };
  }

  // ---- websockets -------------------------------------------------------------------------------

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const u = new URL(req.url ?? '/', 'http://x');
    this.http.requests.push({
      method: 'WS',
      path: u.pathname,
      params: Object.fromEntries(u.searchParams),
      headers: req.headers,
      ts: this.now(),
    });
    if (u.pathname !== '/v5/private') {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (w) => {
      const ws = w as WebSocket & { authed?: boolean; topics?: Set<string>; connId?: string };
      ws.connId = `fake-conn-${++this.seqConn}`;
      ws.topics = new Set();
      this.streams.add(ws);
      ws.on('close', () => this.streams.delete(ws));
      ws.on('message', (data) => {
        let m: { op?: string; req_id?: string | number; args?: unknown[] };
        try {
          m = JSON.parse(String(data)) as typeof m;
        } catch {
          return;
        }
        const reply = (x: Record<string, unknown>): void =>
          ws.send(JSON.stringify({ ...x, conn_id: ws.connId, ...(m.req_id !== undefined ? { req_id: String(m.req_id) } : {}) }));
        if (m.op === 'auth') {
          const [key, expires, signature] = (m.args ?? []) as string[];
          const keyOk = key !== undefined && (this.apiKey === undefined || key === this.apiKey);
          const signOk =
            this.secret === undefined ||
            createHmac('sha256', this.secret)
              .update(`GET/realtime${String(expires)}`)
              .digest('hex') === signature;
          ws.authed = keyOk && signOk;
          reply({ success: ws.authed, ret_msg: ws.authed ? '' : 'error:signature verification failed', op: 'auth' });
        } else if (m.op === 'subscribe') {
          if (!ws.authed) return reply({ success: false, ret_msg: 'Request not authorized', op: 'subscribe' });
          for (const t of (m.args ?? []) as string[]) ws.topics!.add(t);
          reply({ success: true, ret_msg: '', op: 'subscribe' });
          if (ws.topics!.has('order') && ws.topics!.has('execution')) for (const r of this.subWaiters.splice(0)) r();
        } else if (m.op === 'unsubscribe') {
          for (const t of (m.args ?? []) as string[]) ws.topics!.delete(t);
          reply({ success: true, ret_msg: '', op: 'unsubscribe' });
        } else if (m.op === 'ping') reply({ success: true, ret_msg: 'pong', op: 'ping' });
      });
    });
  }

  private push(e: BookEvent): void {
    if (this.streamSilent || this.streams.size === 0 || e.execType === 'TRIGGERED') return;
    const creationTime = this.now();
    const order = { id: `fake-${++this.seqMsg}`, topic: 'order', creationTime, data: [this.orderJson(e.order, true)] };
    const exec = e.trade
      ? { id: `fake-${++this.seqMsg}`, topic: 'execution', creationTime, data: [this.execJson(e.trade, true)] }
      : undefined;
    for (const ws of this.streams) {
      if (!ws.authed) continue;
      // The order update first: the adapter must not report it before its fills.
      if (ws.topics?.has('order')) ws.send(JSON.stringify(order));
      if (exec && ws.topics?.has('execution')) ws.send(JSON.stringify(exec));
    }
  }
}
