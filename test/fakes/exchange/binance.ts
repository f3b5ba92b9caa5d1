// A local fake of Binance's private REST API (spot /api/v3 and USDⓈ-M /fapi/v1|v2|v3) and its
// user-data websockets, for running the real ccxt against it. One instance serves one market type.
//
// Point ccxt at it with the adapter's `apiUrl: fake.url, wsUrl: fake.wsUrl` (every host replaced,
// paths kept). Orders match against a scripted price path (`setPrice`); `book.liquidity` caps the
// quantity an order fills per price step (partial fills). Faults per endpoint: `inject({kind, path,
// …})` (see FaultKind in shared.ts). `apiKey`: private calls with another key get -2015.
//
// Websockets (ccxt pro): spot uses the WebSocket API (`/ws-api/v3`, userDataStream.subscribe.signature,
// events wrapped as {subscriptionId, event}); USDⓈ-M uses a listen key (POST /fapi/v1/listenKey,
// then `/private/ws?listenKey=`), ORDER_TRADE_UPDATE for orders and ALGO_UPDATE for conditionals.
// `streamSilent = true` keeps the sockets open but sends nothing (a silently dead stream);
// `dropStreams()` terminates them.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { TIMEFRAME_MS, type Timeframe } from '../../../src/core/types.ts';
import { defaultCandleAt } from '../binance-public.ts';
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

export interface FakeBinanceOptions {
  type: 'spot' | 'perp';
  /** Clock for order/trade times and the request log (default Date.now). */
  now?: () => number;
  markets?: FakeMarket[];
  balances?: Record<string, number>;
  prices?: Record<string, number>;
  apiKey?: string;
  makerFee?: number;
  takerFee?: number;
  feeAsset?: 'quote' | 'base' | 'BNB';
}

export const FAKE_MARKETS: FakeMarket[] = [
  { id: 'BTCUSDT', base: 'BTC', quote: 'USDT', tick: 0.1, step: 0.001, minQty: 0.001, minNotional: 5, maxLeverage: 125 },
  { id: 'ETHUSDT', base: 'ETH', quote: 'USDT', tick: 0.01, step: 0.01, minQty: 0.01, minNotional: 5, maxLeverage: 100 },
];

interface Err {
  http: number;
  code: number;
  msg: string;
}

const SPOT_ERRORS: Record<RejectKind, Err> = {
  insufficient_balance: { http: 400, code: -2010, msg: 'Account has insufficient balance for requested action.' },
  insufficient_margin: { http: 400, code: -2010, msg: 'Account has insufficient balance for requested action.' },
  min_notional: { http: 400, code: -1013, msg: 'Filter failure: NOTIONAL' },
  lot_size: { http: 400, code: -1013, msg: 'Filter failure: LOT_SIZE' },
  min_qty: { http: 400, code: -1013, msg: 'Filter failure: LOT_SIZE' },
  duplicate: { http: 400, code: -2010, msg: 'Duplicate order sent.' },
  reduce_only: { http: 400, code: -1106, msg: "Parameter 'reduceOnly' sent when not required." },
  would_take: { http: 400, code: -2010, msg: 'Order would immediately match and take.' },
  would_trigger: { http: 400, code: -2010, msg: 'Stop price would trigger immediately.' },
  bad_symbol: { http: 400, code: -1121, msg: 'Invalid symbol.' },
  bad_params: { http: 400, code: -1102, msg: 'Mandatory parameter was not sent, was empty/null, or malformed.' },
};

const PERP_ERRORS: Record<RejectKind, Err> = {
  insufficient_balance: { http: 400, code: -2019, msg: 'Margin is insufficient.' },
  insufficient_margin: { http: 400, code: -2019, msg: 'Margin is insufficient.' },
  min_notional: { http: 400, code: -4164, msg: "Order's notional must be no smaller than 5 (unless you choose reduce only)." },
  lot_size: { http: 400, code: -1111, msg: 'Precision is over the maximum defined for this asset.' },
  min_qty: { http: 400, code: -4003, msg: 'Quantity less than or equal to zero.' },
  duplicate: { http: 400, code: -4116, msg: 'ClientOrderId is duplicated.' },
  reduce_only: { http: 400, code: -2022, msg: 'ReduceOnly Order is rejected.' },
  would_take: { http: 400, code: -5022, msg: 'Due to the order could not be executed as maker, the Post Only order will be rejected.' },
  would_trigger: { http: 400, code: -2021, msg: 'Order would immediately trigger.' },
  bad_symbol: { http: 400, code: -1121, msg: 'Invalid symbol.' },
  bad_params: { http: 400, code: -1102, msg: 'Mandatory parameter was not sent, was empty/null, or malformed.' },
};

// Binance refuses parameters it does not read (-1104): catches mapping mistakes (e.g. reduceOnly on spot).
const SPOT_ORDER_PARAMS = new Set([
  'symbol',
  'side',
  'type',
  'timeInForce',
  'quantity',
  'quoteOrderQty',
  'price',
  'newClientOrderId',
  'strategyId',
  'strategyType',
  'stopPrice',
  'trailingDelta',
  'icebergQty',
  'newOrderRespType',
  'selfTradePreventionMode',
  'recvWindow',
  'timestamp',
]);
const PERP_ORDER_PARAMS = new Set([
  'symbol',
  'side',
  'positionSide',
  'type',
  'timeInForce',
  'quantity',
  'reduceOnly',
  'price',
  'newClientOrderId',
  'newOrderRespType',
  'priceMatch',
  'selfTradePreventionMode',
  'goodTillDate',
  'recvWindow',
  'timestamp',
]);
const ALGO_ORDER_PARAMS = new Set([
  'algoType',
  'symbol',
  'side',
  'positionSide',
  'type',
  'timeInForce',
  'quantity',
  'price',
  'triggerPrice',
  'workingType',
  'priceMatch',
  'closePosition',
  'priceProtect',
  'reduceOnly',
  'activatePrice',
  'callbackRate',
  'clientAlgoId',
  'selfTradePreventionMode',
  'goodTillDate',
  'newOrderRespType',
  'recvWindow',
  'timestamp',
]);

const f = (x: number | undefined): string => {
  if (x === undefined || !Number.isFinite(x)) return '0';
  const s = x.toFixed(10).replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
};

const ok = (body: unknown): FakeResponse => ({ status: 200, body });
const fail = (e: Err): FakeResponse => ({ status: e.http, body: { code: e.code, msg: e.msg } });
const NOT_FOUND: Err = { http: 400, code: -2013, msg: 'Order does not exist.' };
const UNKNOWN_ORDER: Err = { http: 400, code: -2011, msg: 'Unknown order sent.' };

export class FakeBinance extends FakeVenue {
  readonly type: 'spot' | 'perp';
  readonly book: FakeBook;
  readonly http: FakeHttpServer;
  readonly now: () => number;
  apiKey: string | undefined;
  /** Keep the user-data sockets open but push nothing. */
  streamSilent = false;
  readonly listenKeys = new Set<string>();

  private readonly wss = new WebSocketServer({ noServer: true });
  private subWaiters: Array<() => void> = [];
  private seqListenKey = 0;
  private seqSub = 0;

  constructor(opts: FakeBinanceOptions) {
    super();
    this.type = opts.type;
    this.now = opts.now ?? (() => Date.now());
    this.apiKey = opts.apiKey;
    this.book = new FakeBook({
      type: opts.type,
      markets: opts.markets ?? FAKE_MARKETS,
      balances: opts.balances ?? { USDT: 10_000 },
      now: this.now,
      ...(opts.makerFee !== undefined ? { makerFee: opts.makerFee } : {}),
      ...(opts.takerFee !== undefined ? { takerFee: opts.takerFee } : {}),
      ...(opts.feeAsset !== undefined ? { feeAsset: opts.feeAsset } : {}),
      postOnlyExpires: opts.type === 'perp',
    });
    for (const m of this.book.markets.values()) this.book.prices.set(m.id, opts.prices?.[m.id] ?? (m.base === 'BTC' ? 30_000 : 2_000));
    this.book.listeners.push((e) => this.push(e));
    this.http = new FakeHttpServer(
      (r) => this.route(r),
      this.now,
      (req, socket, head) => this.upgrade(req, socket, head),
    );
  }

  /** The order-creating requests' client order ids, one entry per request that reached the server. */
  sentClientOrderIds(): string[] {
    return this.requests
      .filter((r) => r.method === 'POST' && (r.path === '/api/v3/order' || r.path === '/fapi/v1/order' || r.path === '/fapi/v1/algoOrder'))
      .map((r) => r.params['newClientOrderId'] ?? r.params['clientAlgoId'] ?? '?');
  }

  fund(symbol: string, rate: number): FakeIncome | undefined {
    return this.book.fund(symbol, rate);
  }

  order(coid: string): FakeOrder | undefined {
    return this.book.byCoid.get(coid);
  }

  /** Resolves once a user-data stream is subscribed (immediately if one is). */
  streamReady(): Promise<void> {
    if (this.streams.size > 0 && [...this.streams].some((w) => (w as WebSocket & { sub?: number }).sub !== undefined))
      return Promise.resolve();
    return new Promise((r) => this.subWaiters.push(r));
  }

  // ---- routing ------------------------------------------------------------------------------------

  private route(r: FakeRequest): FakeResponse {
    const signed = 'timestamp' in r.params || r.path.endsWith('/listenKey');
    if (signed && this.apiKey !== undefined && r.headers['x-mbx-apikey'] !== this.apiKey)
      return { status: 401, body: { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' } };
    const key = `${r.method} ${r.path}`;
    const p = r.params;
    try {
      if (this.type === 'spot') {
        switch (key) {
          case 'GET /api/v3/ping':
            return ok({});
          case 'GET /api/v3/time':
            return ok({ serverTime: this.now() });
          case 'GET /api/v3/exchangeInfo':
            return ok(this.spotExchangeInfo());
          case 'GET /api/v3/ticker/24hr':
            return ok(this.ticker(p['symbol']!));
          case 'GET /api/v3/klines':
            return this.klines(p);
          case 'GET /api/v3/account':
            return ok(this.spotAccount());
          case 'POST /api/v3/order':
            return this.spotPlace(p);
          case 'GET /api/v3/order':
            return this.withOrder(p, (o) => ok(this.spotOrder(o)), NOT_FOUND);
          case 'DELETE /api/v3/order':
            return this.withOrder(p, (o) => this.cancelled(o, () => this.spotOrder(o)), UNKNOWN_ORDER);
          case 'GET /api/v3/openOrders':
            return ok(this.book.working(p['symbol']).map((o) => this.spotOrder(o)));
          case 'GET /api/v3/myTrades':
            return ok(this.tradesFor(p).map((t) => this.spotTrade(t)));
          default:
        }
      } else {
        switch (key) {
          case 'GET /fapi/v1/ping':
            return ok({});
          case 'GET /fapi/v1/time':
            return ok({ serverTime: this.now() });
          case 'GET /fapi/v1/exchangeInfo':
            return ok(this.perpExchangeInfo());
          case 'GET /fapi/v1/ticker/24hr':
            return ok(this.ticker(p['symbol']!));
          case 'GET /fapi/v1/klines':
            return this.klines(p);
          case 'GET /fapi/v3/account':
          case 'GET /fapi/v2/account':
            return ok(this.perpAccount());
          case 'GET /fapi/v3/positionRisk':
          case 'GET /fapi/v2/positionRisk':
            return ok(this.positionRisk(p['symbol']));
          case 'GET /fapi/v1/leverageBracket':
            return ok(
              [...this.book.markets.values()].map((m) => ({
                symbol: m.id,
                brackets: [
                  {
                    bracket: 1,
                    initialLeverage: m.maxLeverage,
                    notionalCap: 50_000_000,
                    notionalFloor: 0,
                    maintMarginRatio: 0.004,
                    cum: 0,
                  },
                ],
              })),
            );
          case 'POST /fapi/v1/leverage': {
            const m = this.book.markets.get(p['symbol'] ?? '');
            const lev = Number(p['leverage']);
            if (!m) return fail(PERP_ERRORS.bad_symbol);
            if (!(lev >= 1 && lev <= m.maxLeverage)) return fail({ http: 400, code: -4028, msg: `Leverage ${p['leverage']} is not valid` });
            this.book.leverage.set(m.id, lev);
            return ok({ leverage: lev, maxNotionalValue: '50000000', symbol: m.id });
          }
          case 'POST /fapi/v1/marginType': {
            const sym = p['symbol'] ?? '';
            const want = p['marginType'] === 'ISOLATED' ? 'ISOLATED' : 'CROSSED';
            if (this.book.marginType.get(sym) === want) return fail({ http: 400, code: -4046, msg: 'No need to change margin type.' });
            const pos = this.book.positions.get(sym);
            if (pos && pos.qty !== 0)
              return fail({ http: 400, code: -4048, msg: 'Margin type cannot be changed if there exists position.' });
            this.book.marginType.set(sym, want);
            return ok({ code: 200, msg: 'success' });
          }
          case 'GET /fapi/v1/premiumIndex':
            return ok(this.premiumIndex(p['symbol']!));
          case 'GET /fapi/v1/openInterest':
            return ok({ openInterest: '12345.678', symbol: p['symbol'], time: this.now() });
          case 'GET /fapi/v1/income':
            return ok(this.incomeFor(p));
          case 'POST /fapi/v1/order':
            return this.perpPlace(p, false);
          case 'POST /fapi/v1/algoOrder':
            return this.perpPlace(p, true);
          case 'GET /fapi/v1/order':
            return this.withOrder(p, (o) => ok(this.perpOrder(o)), NOT_FOUND, false);
          case 'DELETE /fapi/v1/order':
            return this.withOrder(p, (o) => this.cancelled(o, () => this.perpOrder(o)), UNKNOWN_ORDER, false);
          case 'GET /fapi/v1/algoOrder':
            return this.withOrder(p, (o) => ok(this.algoOrder(o)), NOT_FOUND, true);
          case 'DELETE /fapi/v1/algoOrder':
            return this.withOrder(
              p,
              (o) => this.cancelled(o, () => ({ algoId: o.id, clientAlgoId: o.coid, code: '200', msg: 'success' })),
              UNKNOWN_ORDER,
              true,
            );
          case 'GET /fapi/v1/openOrders':
            return ok(
              this.book
                .working(p['symbol'])
                .filter((o) => !o.conditional)
                .map((o) => this.perpOrder(o)),
            );
          case 'GET /fapi/v1/openAlgoOrders':
            return ok(
              this.book
                .working(p['symbol'])
                .filter((o) => o.conditional?.status === 'NEW')
                .map((o) => this.algoOrder(o)),
            );
          case 'GET /fapi/v1/userTrades':
            return ok(this.tradesFor(p).map((t) => this.perpTrade(t)));
          case 'POST /fapi/v1/listenKey': {
            const k = `fake-listen-key-${++this.seqListenKey}`;
            this.listenKeys.add(k);
            return ok({ listenKey: k });
          }
          case 'PUT /fapi/v1/listenKey':
          case 'DELETE /fapi/v1/listenKey':
            return ok({});
          default:
        }
      }
    } catch (e) {
      if (e instanceof BookReject) return fail((this.type === 'spot' ? SPOT_ERRORS : PERP_ERRORS)[e.kind]);
      throw e;
    }
    return { status: 404, body: { code: -1, msg: `fake binance: no route ${key}` } };
  }

  private withOrder(p: Record<string, string>, fn: (o: FakeOrder) => FakeResponse, missing: Err, conditional?: boolean): FakeResponse {
    const coid = p['origClientOrderId'] ?? p['clientAlgoId'];
    const id = p['orderId'] ?? p['algoId'];
    let o = coid !== undefined ? this.book.byCoid.get(coid) : id !== undefined ? this.book.byId.get(Number(id)) : undefined;
    if (o && o.symbol !== p['symbol'] && p['symbol'] !== undefined) o = undefined;
    if (o && conditional !== undefined && (o.conditional !== undefined) !== conditional) o = undefined;
    return o ? fn(o) : fail(missing);
  }

  private cancelled(o: FakeOrder, render: () => unknown): FakeResponse {
    const working = o.status === 'NEW' || o.status === 'PARTIALLY_FILLED';
    if (!working) return fail(UNKNOWN_ORDER);
    this.book.cancel(o);
    return ok(render());
  }

  private tradesFor(p: Record<string, string>): FakeTrade[] {
    const sym = p['symbol'];
    const fromId = p['fromId'] !== undefined ? Number(p['fromId']) : undefined;
    const start = p['startTime'] !== undefined ? Number(p['startTime']) : undefined;
    const end = p['endTime'] !== undefined ? Number(p['endTime']) : undefined;
    const orderId = p['orderId'] !== undefined ? Number(p['orderId']) : undefined;
    const limit = Math.min(1000, Number(p['limit'] ?? 500));
    let rows = this.book.trades.filter((t) => t.symbol === sym);
    if (orderId !== undefined) rows = rows.filter((t) => t.orderId === orderId);
    if (fromId !== undefined) rows = rows.filter((t) => t.id >= fromId);
    if (start !== undefined) rows = rows.filter((t) => t.time >= start);
    if (end !== undefined) rows = rows.filter((t) => t.time <= end);
    // Without a start, Binance returns the most recent trades.
    return fromId === undefined && start === undefined ? rows.slice(-limit) : rows.slice(0, limit);
  }

  private incomeFor(p: Record<string, string>): unknown[] {
    const start = p['startTime'] !== undefined ? Number(p['startTime']) : -Infinity;
    const end = p['endTime'] !== undefined ? Number(p['endTime']) : Infinity;
    return this.book.income
      .filter(
        (i) =>
          (p['symbol'] === undefined || i.symbol === p['symbol']) &&
          i.time >= start &&
          i.time <= end &&
          (p['incomeType'] ?? 'FUNDING_FEE') === i.type,
      )
      .slice(0, Number(p['limit'] ?? 100))
      .map((i) => ({
        symbol: i.symbol,
        incomeType: i.type,
        income: f(i.amount),
        asset: i.asset,
        info: 'FUNDING_FEE',
        time: i.time,
        tranId: i.tranId,
        tradeId: '',
      }));
  }

  // ---- spot ---------------------------------------------------------------------------------------

  private spotPlace(p: Record<string, string>): FakeResponse {
    const extra = Object.keys(p).filter((k) => !SPOT_ORDER_PARAMS.has(k));
    if (extra.length) return fail({ http: 400, code: -1104, msg: `Not all sent parameters were read; unread: ${extra.join(',')}.` });
    const type = p['type'] ?? '';
    const kinds: Record<string, 'market' | 'limit' | 'stop_market' | 'stop_limit'> = {
      MARKET: 'market',
      LIMIT: 'limit',
      LIMIT_MAKER: 'limit',
      STOP_LOSS: 'stop_market',
      STOP_LOSS_LIMIT: 'stop_limit',
    };
    const kind = kinds[type];
    if (!kind) return fail({ http: 400, code: -1116, msg: 'Invalid orderType.' });
    if ((type === 'LIMIT' || type === 'STOP_LOSS_LIMIT') && !p['timeInForce'])
      return fail({ http: 400, code: -1102, msg: "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed." });
    if (type === 'MARKET' && p['timeInForce'])
      return fail({ http: 400, code: -1106, msg: "Parameter 'timeInForce' sent when not required." });
    const o = this.book.place({
      symbol: p['symbol'] ?? '',
      side: p['side'] === 'SELL' ? 'SELL' : 'BUY',
      kind,
      venueType: type,
      coid: p['newClientOrderId'] ?? `x-fake-${this.book.orders.length}`,
      ...(p['quantity'] !== undefined ? { qty: Number(p['quantity']) } : {}),
      ...(p['quoteOrderQty'] !== undefined ? { quoteQty: Number(p['quoteOrderQty']) } : {}),
      ...(p['price'] !== undefined ? { price: Number(p['price']) } : {}),
      ...(p['stopPrice'] !== undefined ? { stopPrice: Number(p['stopPrice']) } : {}),
      tif: p['timeInForce'] ?? 'GTC',
      postOnly: type === 'LIMIT_MAKER',
      reduceOnly: false,
      conditional: false,
    });
    const fills = this.book.trades
      .filter((t) => t.orderId === o.id)
      .map((t) => ({ price: f(t.price), qty: f(t.qty), commission: f(t.commission), commissionAsset: t.commissionAsset, tradeId: t.id }));
    const body: Record<string, unknown> = { ...(this.spotOrder(o) as Record<string, unknown>), transactTime: o.time };
    delete body['time'];
    delete body['updateTime'];
    delete body['isWorking'];
    if (p['newOrderRespType'] === 'FULL') body['fills'] = fills;
    return ok(body);
  }

  private spotOrder(o: FakeOrder): unknown {
    return {
      symbol: o.symbol,
      orderId: o.id,
      orderListId: -1,
      clientOrderId: o.coid,
      price: f(o.price),
      origQty: f(o.qty),
      executedQty: f(o.filled),
      cummulativeQuoteQty: f(o.cumQuote),
      status: o.status,
      timeInForce: o.tif,
      type: o.venueType,
      side: o.side,
      stopPrice: f(o.stopPrice),
      icebergQty: '0',
      time: o.time,
      updateTime: o.updateTime,
      isWorking: o.kind === 'limit' || o.triggered,
      workingTime: o.time,
      origQuoteOrderQty: f(o.quoteQty),
      selfTradePreventionMode: 'EXPIRE_MAKER',
    };
  }

  private spotTrade(t: FakeTrade): unknown {
    return {
      symbol: t.symbol,
      id: t.id,
      orderId: t.orderId,
      orderListId: -1,
      price: f(t.price),
      qty: f(t.qty),
      quoteQty: f(t.quoteQty),
      commission: f(t.commission),
      commissionAsset: t.commissionAsset,
      time: t.time,
      isBuyer: t.side === 'BUY',
      isMaker: t.maker,
      isBestMatch: true,
    };
  }

  private spotAccount(): unknown {
    return {
      makerCommission: 10,
      takerCommission: 10,
      buyerCommission: 0,
      sellerCommission: 0,
      canTrade: true,
      canWithdraw: true,
      canDeposit: true,
      brokered: false,
      requireSelfTradePrevention: false,
      preventSor: false,
      updateTime: this.now(),
      accountType: 'SPOT',
      balances: [...this.book.balances.entries()].map(([asset, b]) => ({ asset, free: f(b.free), locked: f(b.locked) })),
      permissions: ['SPOT'],
      uid: 1,
    };
  }

  private spotExchangeInfo(): unknown {
    return {
      timezone: 'UTC',
      serverTime: this.now(),
      rateLimits: [],
      exchangeFilters: [],
      symbols: [...this.book.markets.values()].map((m) => ({
        symbol: m.id,
        status: 'TRADING',
        baseAsset: m.base,
        baseAssetPrecision: 8,
        quoteAsset: m.quote,
        quotePrecision: 8,
        quoteAssetPrecision: 8,
        baseCommissionPrecision: 8,
        quoteCommissionPrecision: 8,
        orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT', 'TAKE_PROFIT_LIMIT'],
        icebergAllowed: true,
        ocoAllowed: true,
        quoteOrderQtyMarketAllowed: true,
        allowTrailingStop: true,
        cancelReplaceAllowed: true,
        isSpotTradingAllowed: true,
        isMarginTradingAllowed: false,
        filters: [
          { filterType: 'PRICE_FILTER', minPrice: f(m.tick), maxPrice: '1000000', tickSize: f(m.tick) },
          { filterType: 'LOT_SIZE', minQty: f(m.minQty), maxQty: '9000', stepSize: f(m.step) },
          {
            filterType: 'NOTIONAL',
            minNotional: f(m.minNotional),
            applyMinToMarket: true,
            maxNotional: '9000000',
            applyMaxToMarket: false,
            avgPriceMins: 5,
          },
        ],
        permissions: [],
        permissionSets: [['SPOT']],
        defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
        allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
      })),
    };
  }

  /** Closed candles from the public fake's deterministic wave (a bot's live feed can use this fake too). */
  private klines(p: Record<string, string>): FakeResponse {
    const tf = p['interval'] as Timeframe;
    const ms = TIMEFRAME_MS[tf];
    if (!ms) return fail({ http: 400, code: -1120, msg: 'Invalid interval.' });
    if (!this.book.markets.has(p['symbol'] ?? '')) return fail(SPOT_ERRORS.bad_symbol);
    const limit = Math.min(1000, Number(p['limit'] ?? 500));
    const current = Math.floor(this.now() / ms) * ms;
    let start = p['startTime'] !== undefined ? Math.ceil(Number(p['startTime']) / ms) * ms : current - (limit - 1) * ms;
    const end = Math.min(current, p['endTime'] !== undefined ? Number(p['endTime']) : Infinity);
    const rows: unknown[] = [];
    for (; start <= end && rows.length < limit; start += ms) {
      const c = defaultCandleAt(start, tf);
      rows.push([c.ts, f(c.open), f(c.high), f(c.low), f(c.close), f(c.volume), c.ts + ms - 1, '0', 1, '0', '0', '0']);
    }
    return ok(rows);
  }

  private ticker(symbol: string): unknown {
    const last = this.book.prices.get(symbol) ?? 0;
    return {
      symbol,
      priceChange: '0',
      priceChangePercent: '0',
      weightedAvgPrice: f(last),
      lastPrice: f(last),
      lastQty: '1',
      openPrice: f(last),
      highPrice: f(last),
      lowPrice: f(last),
      volume: '1000',
      quoteVolume: f(1000 * last),
      openTime: this.now() - 86_400_000,
      closeTime: this.now(),
      firstId: 1,
      lastId: 2,
      count: 2,
    };
  }

  // ---- USDⓈ-M -------------------------------------------------------------------------------------

  private perpPlace(p: Record<string, string>, algo: boolean): FakeResponse {
    const allowed = algo ? ALGO_ORDER_PARAMS : PERP_ORDER_PARAMS;
    const extra = Object.keys(p).filter((k) => !allowed.has(k));
    if (extra.length) return fail({ http: 400, code: -1104, msg: `Not all sent parameters were read; unread: ${extra.join(',')}.` });
    const type = p['type'] ?? '';
    if (!algo && type !== 'MARKET' && type !== 'LIMIT')
      return fail({
        http: 400,
        code: -4120,
        msg: 'Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.',
      });
    if (algo && p['algoType'] !== 'CONDITIONAL')
      return fail({ http: 400, code: -1102, msg: "Mandatory parameter 'algoType' was not sent." });
    const kinds: Record<string, 'market' | 'limit' | 'stop_market' | 'stop_limit'> = {
      MARKET: 'market',
      LIMIT: 'limit',
      STOP_MARKET: 'stop_market',
      STOP: 'stop_limit',
      ...(algo ? { TRAILING_STOP_MARKET: 'stop_market' as const } : {}),
    };
    const kind = kinds[type];
    if (!kind) return fail({ http: 400, code: -1116, msg: 'Invalid orderType.' });
    const callback = p['callbackRate'];
    if (type === 'TRAILING_STOP_MARKET' && !(Number(callback) >= 0.1 && Number(callback) <= 10))
      return fail({ http: 400, code: -2007, msg: `Invalid callBack rate: ${callback ?? 'missing'} (0.1 to 10).` });
    if (type === 'LIMIT' && !p['timeInForce'])
      return fail({ http: 400, code: -1102, msg: "Mandatory parameter 'timeInForce' was not sent." });
    const o = this.book.place({
      symbol: p['symbol'] ?? '',
      side: p['side'] === 'SELL' ? 'SELL' : 'BUY',
      kind,
      venueType: type,
      coid: (algo ? p['clientAlgoId'] : p['newClientOrderId']) ?? `x-fake-${this.book.orders.length}`,
      ...(p['quantity'] !== undefined ? { qty: Number(p['quantity']) } : {}),
      ...(p['price'] !== undefined ? { price: Number(p['price']) } : {}),
      ...(p['triggerPrice'] !== undefined ? { stopPrice: Number(p['triggerPrice']) } : {}),
      tif: p['timeInForce'] ?? 'GTC',
      postOnly: p['timeInForce'] === 'GTX',
      reduceOnly: p['reduceOnly'] === 'true',
      conditional: algo,
      ...(type === 'TRAILING_STOP_MARKET' ? { trailRate: Number(callback) / 100 } : {}),
    });
    return ok(algo ? this.algoOrder(o) : this.perpOrder(o));
  }

  private perpOrder(o: FakeOrder): unknown {
    return {
      orderId: o.id,
      symbol: o.symbol,
      status: o.status,
      clientOrderId: o.coid,
      price: f(o.price),
      avgPrice: f(o.filled > 0 ? o.cumQuote / o.filled : 0),
      origQty: f(o.qty),
      executedQty: f(o.filled),
      cumQty: f(o.filled),
      cumQuote: f(o.cumQuote),
      timeInForce: o.tif,
      type: o.venueType,
      reduceOnly: o.reduceOnly,
      closePosition: false,
      side: o.side,
      positionSide: 'BOTH',
      stopPrice: '0',
      workingType: 'CONTRACT_PRICE',
      priceProtect: false,
      origType: o.venueType,
      priceMatch: 'NONE',
      selfTradePreventionMode: 'EXPIRE_MAKER',
      goodTillDate: 0,
      time: o.time,
      updateTime: o.updateTime,
    };
  }

  private algoOrder(o: FakeOrder): unknown {
    const c = o.conditional!;
    const child = c.actualOrderId !== undefined ? this.book.byId.get(c.actualOrderId) : undefined;
    return {
      algoId: o.id,
      clientAlgoId: o.coid,
      algoType: 'CONDITIONAL',
      orderType: o.venueType,
      symbol: o.symbol,
      side: o.side,
      positionSide: 'BOTH',
      timeInForce: o.tif,
      quantity: f(o.qty),
      algoStatus: c.status,
      actualOrderId: child ? String(child.id) : '',
      actualPrice: f(child && child.filled > 0 ? child.cumQuote / child.filled : 0),
      triggerPrice: f(o.stopPrice),
      price: f(o.price),
      icebergQuantity: null,
      selfTradePreventionMode: 'EXPIRE_MAKER',
      workingType: 'CONTRACT_PRICE',
      priceMatch: 'NONE',
      closePosition: false,
      priceProtect: false,
      reduceOnly: o.reduceOnly,
      createTime: o.time,
      updateTime: o.updateTime,
      triggerTime: c.triggerTime,
      goodTillDate: 0,
      ...(o.trail ? { callbackRate: f(o.trail.rate * 100), activatePrice: '' } : {}),
    };
  }

  private perpTrade(t: FakeTrade): unknown {
    return {
      buyer: t.side === 'BUY',
      commission: f(t.commission),
      commissionAsset: t.commissionAsset,
      id: t.id,
      maker: t.maker,
      orderId: t.orderId,
      price: f(t.price),
      qty: f(t.qty),
      quoteQty: f(t.quoteQty),
      realizedPnl: f(t.realizedPnl),
      side: t.side,
      positionSide: 'BOTH',
      symbol: t.symbol,
      time: t.time,
    };
  }

  private perpAccount(): unknown {
    const q = this.book.quote;
    const wallet = this.book.bal(q).free;
    let posMargin = 0;
    let upnl = 0;
    for (const [s, p] of this.book.positions) {
      posMargin += this.book.positionMargin(s);
      upnl += p.qty * (this.book.price(s) - p.entry);
    }
    const orderMargin = this.book.openOrderMargin();
    const initial = posMargin + orderMargin;
    const avail = wallet - initial + Math.min(0, upnl);
    return {
      totalInitialMargin: f(initial),
      totalMaintMargin: '0',
      totalWalletBalance: f(wallet),
      totalUnrealizedProfit: f(upnl),
      totalMarginBalance: f(wallet + upnl),
      totalPositionInitialMargin: f(posMargin),
      totalOpenOrderInitialMargin: f(orderMargin),
      totalCrossWalletBalance: f(wallet),
      totalCrossUnPnl: f(upnl),
      availableBalance: f(avail),
      maxWithdrawAmount: f(avail),
      assets: [
        {
          asset: q,
          walletBalance: f(wallet),
          unrealizedProfit: f(upnl),
          marginBalance: f(wallet + upnl),
          maintMargin: '0',
          initialMargin: f(initial),
          positionInitialMargin: f(posMargin),
          openOrderInitialMargin: f(orderMargin),
          crossWalletBalance: f(wallet),
          crossUnPnl: f(upnl),
          availableBalance: f(avail),
          maxWithdrawAmount: f(avail),
          updateTime: this.now(),
        },
      ],
      positions: [...this.book.positions.entries()]
        .filter(([, p]) => p.qty !== 0)
        .map(([s, p]) => ({
          symbol: s,
          positionSide: 'BOTH',
          positionAmt: f(p.qty),
          unrealizedProfit: f(p.qty * (this.book.price(s) - p.entry)),
          isolatedMargin: f(this.book.marginType.get(s) === 'ISOLATED' ? this.book.positionMargin(s) : 0),
          notional: f(p.qty * this.book.price(s)),
          isolatedWallet: f(this.book.marginType.get(s) === 'ISOLATED' ? this.book.positionMargin(s) : 0),
          initialMargin: f(this.book.positionMargin(s)),
          maintMargin: '0',
          updateTime: p.updateTime,
        })),
    };
  }

  /** v3 shape (no leverage field: the client works it out). */
  private positionRisk(symbol?: string): unknown[] {
    return [...this.book.positions.entries()]
      .filter(([s, p]) => p.qty !== 0 && (symbol === undefined || s === symbol))
      .map(([s, p]) => {
        const mark = this.book.price(s);
        const lev = this.book.leverage.get(s) ?? 1;
        const isolated = this.book.marginType.get(s) === 'ISOLATED';
        const margin = this.book.positionMargin(s);
        const liq = p.qty > 0 ? p.entry * (1 - 1 / lev + 0.004) : p.entry * (1 + 1 / lev - 0.004);
        return {
          symbol: s,
          positionSide: 'BOTH',
          positionAmt: f(p.qty),
          entryPrice: f(p.entry),
          breakEvenPrice: f(p.entry),
          markPrice: f(mark),
          unRealizedProfit: f(p.qty * (mark - p.entry)),
          liquidationPrice: f(liq),
          isolatedMargin: f(isolated ? margin : 0),
          notional: f(p.qty * mark),
          marginAsset: this.book.quote,
          isolatedWallet: f(isolated ? margin : 0),
          initialMargin: f((Math.abs(p.qty) * mark) / lev),
          maintMargin: f(Math.abs(p.qty) * mark * 0.004),
          positionInitialMargin: f((Math.abs(p.qty) * mark) / lev),
          openOrderInitialMargin: '0',
          adl: 1,
          bidNotional: '0',
          askNotional: '0',
          updateTime: p.updateTime,
        };
      });
  }

  private premiumIndex(symbol: string): unknown {
    const mark = this.book.prices.get(symbol) ?? 0;
    return {
      symbol,
      markPrice: f(mark),
      indexPrice: f(mark),
      estimatedSettlePrice: f(mark),
      lastFundingRate: '0.00010000',
      interestRate: '0.00010000',
      nextFundingTime: Math.ceil((this.now() + 1) / 28_800_000) * 28_800_000,
      time: this.now(),
    };
  }

  private perpExchangeInfo(): unknown {
    return {
      timezone: 'UTC',
      serverTime: this.now(),
      futuresType: 'U_MARGINED',
      rateLimits: [],
      exchangeFilters: [],
      assets: [{ asset: 'USDT', marginAvailable: true, autoAssetExchange: '-10000' }],
      symbols: [...this.book.markets.values()].map((m) => ({
        symbol: m.id,
        pair: m.id,
        contractType: 'PERPETUAL',
        deliveryDate: 4133404800000,
        onboardDate: 1569398400000,
        status: 'TRADING',
        maintMarginPercent: '2.5000',
        requiredMarginPercent: '5.0000',
        baseAsset: m.base,
        quoteAsset: m.quote,
        marginAsset: m.quote,
        pricePrecision: 2,
        quantityPrecision: 3,
        baseAssetPrecision: 8,
        quotePrecision: 8,
        underlyingType: 'COIN',
        underlyingSubType: ['PoW'],
        triggerProtect: '0.0500',
        liquidationFee: '0.012500',
        marketTakeBound: '0.05',
        maxMoveOrderLimit: 10000,
        filters: [
          { filterType: 'PRICE_FILTER', minPrice: f(m.tick), maxPrice: '4529764', tickSize: f(m.tick) },
          { filterType: 'LOT_SIZE', minQty: f(m.minQty), maxQty: '1000', stepSize: f(m.step) },
          { filterType: 'MARKET_LOT_SIZE', minQty: f(m.minQty), maxQty: '120', stepSize: f(m.step) },
          { filterType: 'MAX_NUM_ORDERS', limit: 200 },
          { filterType: 'MAX_NUM_ALGO_ORDERS', limit: 10 },
          { filterType: 'MIN_NOTIONAL', notional: f(m.minNotional) },
          { filterType: 'PERCENT_PRICE', multiplierUp: '1.0500', multiplierDown: '0.9500', multiplierDecimal: '4' },
        ],
        orderTypes: ['LIMIT', 'MARKET', 'STOP', 'STOP_MARKET', 'TAKE_PROFIT', 'TAKE_PROFIT_MARKET', 'TRAILING_STOP_MARKET'],
        timeInForce: ['GTC', 'IOC', 'FOK', 'GTX', 'GTD'],
      })),
    };
  }

  // ---- websockets ---------------------------------------------------------------------------------

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const u = new URL(req.url ?? '/', 'http://x');
    this.http.requests.push({
      method: 'WS',
      path: u.pathname,
      params: Object.fromEntries(u.searchParams),
      headers: req.headers,
      ts: this.now(),
    });
    const spot = this.type === 'spot' && u.pathname === '/ws-api/v3';
    const perp = this.type === 'perp' && u.pathname === '/private/ws' && this.listenKeys.has(u.searchParams.get('listenKey') ?? '');
    if (!spot && !perp) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (w) => {
      const ws = w as WebSocket & { sub?: number };
      this.streams.add(ws);
      ws.on('close', () => this.streams.delete(ws));
      if (perp) {
        ws.sub = 0;
        for (const r of this.subWaiters.splice(0)) r();
      }
      ws.on('message', (data) => {
        let m: { id?: string | number; method?: string; params?: Record<string, unknown> };
        try {
          m = JSON.parse(String(data)) as typeof m;
        } catch {
          return;
        }
        if (m.method === 'userDataStream.subscribe.signature') {
          if (this.apiKey !== undefined && m.params?.['apiKey'] !== this.apiKey) {
            ws.send(
              JSON.stringify({ id: m.id, status: 401, error: { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' } }),
            );
            return;
          }
          ws.sub = ++this.seqSub;
          ws.send(JSON.stringify({ id: m.id, status: 200, result: { subscriptionId: ws.sub }, rateLimits: [] }));
          for (const r of this.subWaiters.splice(0)) r();
        } else if (m.id !== undefined) ws.send(JSON.stringify({ id: m.id, status: 200, result: null }));
      });
    });
  }

  private push(e: BookEvent): void {
    if (this.streamSilent || this.streams.size === 0) return;
    const msg = this.type === 'spot' ? this.executionReport(e) : this.futuresEvent(e);
    if (msg === undefined) return;
    for (const w of this.streams) {
      const ws = w as WebSocket & { sub?: number };
      if (ws.sub === undefined) continue;
      ws.send(JSON.stringify(this.type === 'spot' ? { subscriptionId: ws.sub, event: msg } : msg));
    }
  }

  private executionReport(e: BookEvent): unknown {
    if (e.execType === 'TRIGGERED') return undefined;
    const o = e.order;
    const t = e.trade;
    return {
      e: 'executionReport',
      E: this.now(),
      s: o.symbol,
      c: o.coid,
      S: o.side,
      o: o.venueType,
      f: o.tif,
      q: f(o.qty),
      p: f(o.price),
      P: f(o.stopPrice),
      F: '0',
      g: -1,
      C: '',
      x: e.execType,
      X: o.status,
      r: 'NONE',
      i: o.id,
      l: f(t?.qty ?? 0),
      z: f(o.filled),
      L: f(t?.price ?? 0),
      n: f(t?.commission ?? 0),
      N: t?.commissionAsset ?? null,
      T: o.updateTime,
      t: t?.id ?? -1,
      v: 0,
      I: 1,
      w: o.status === 'NEW',
      m: t?.maker ?? false,
      M: false,
      O: o.time,
      Z: f(o.cumQuote),
      Y: f(t?.quoteQty ?? 0),
      Q: f(o.quoteQty),
      W: o.time,
      V: 'EXPIRE_MAKER',
    };
  }

  private futuresEvent(e: BookEvent): unknown {
    const o = e.order;
    if (o.conditional) {
      const c = o.conditional;
      const child = c.actualOrderId !== undefined ? this.book.byId.get(c.actualOrderId) : undefined;
      return {
        e: 'ALGO_UPDATE',
        T: this.now(),
        E: this.now(),
        o: {
          caid: o.coid,
          aid: o.id,
          at: 'CONDITIONAL',
          o: o.venueType,
          s: o.symbol,
          S: o.side,
          ps: 'BOTH',
          f: o.tif,
          q: f(o.qty),
          X: c.status,
          ai: child ? String(child.id) : '',
          ap: f(child && child.filled > 0 ? child.cumQuote / child.filled : 0),
          aq: f(child?.filled ?? 0),
          act: child ? child.venueType : '0',
          tp: f(o.stopPrice),
          p: f(o.price),
          V: 'EXPIRE_MAKER',
          wt: 'CONTRACT_PRICE',
          pm: 'NONE',
          cp: false,
          pP: false,
          R: o.reduceOnly,
          tt: c.triggerTime,
          gtd: 0,
          rm: '',
        },
      };
    }
    if (e.execType === 'TRIGGERED') return undefined;
    const t = e.trade;
    return {
      e: 'ORDER_TRADE_UPDATE',
      E: this.now(),
      T: o.updateTime,
      o: {
        s: o.symbol,
        c: o.coid,
        S: o.side,
        o: o.venueType,
        f: o.tif,
        q: f(o.qty),
        p: f(o.price),
        ap: f(o.filled > 0 ? o.cumQuote / o.filled : 0),
        sp: '0',
        x: e.execType === 'EXPIRED' ? 'EXPIRED' : e.execType,
        X: o.status,
        i: o.id,
        l: f(t?.qty ?? 0),
        z: f(o.filled),
        L: f(t?.price ?? 0),
        N: t?.commissionAsset ?? 'USDT',
        n: f(t?.commission ?? 0),
        T: o.updateTime,
        t: t?.id ?? 0,
        b: '0',
        a: '0',
        m: t?.maker ?? false,
        R: o.reduceOnly,
        wt: 'CONTRACT_PRICE',
        ot: o.venueType,
        ps: 'BOTH',
        cp: false,
        rp: f(t?.realizedPnl ?? 0),
        pP: false,
        si: 0,
        ss: 0,
        V: 'EXPIRE_MAKER',
        pm: 'NONE',
        gtd: 0,
      },
    };
  }
}
