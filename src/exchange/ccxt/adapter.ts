/*
 * The live venue adapter: Binance spot and USDⓈ-M perpetuals, Bybit (v5, unified trading account)
 * spot and USDT linear perpetuals, through ccxt. Venue quirks live in one VenueSpec per venue
 * (BINANCE, BYBIT below); the class holds the rules that are the same everywhere.
 *
 * ccxt is loaded only in connect() (dynamic import): it costs ~120 MB and paper users never pay for
 * it. Before connect, market() answers the provisional defaultMarket(); after, the venue's real
 * precision and limits.
 *
 * ORDERS. submit() never throws and never blocks: it starts a task. Before anything is sent the
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
 *
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
 *
 * SECRETS. Keys come only from the options (which come from env) and are registered with
 * registerSecret; errors are logged through clean(), which scrubs secrets and signatures and drops
 * request URLs. Nothing here logs headers.
 */
import type {
  Balances as CcxtBalances,
  Exchange,
  FundingHistory as CcxtFunding,
  Market as CcxtMarket,
  Order as CcxtOrder,
  Position as CcxtPosition,
  Trade as CcxtTrade,
} from 'ccxt';
import { setMaxListeners } from 'node:events';
import type { AlertInput } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import { UserError, errorMessage } from '../core/errors.ts';
import { plain } from '../core/format.ts';
import { registerSecret, scrubSecrets, type Logger } from '../core/logger.ts';
import { floorToStep, isFiniteNumber } from '../core/num.ts';
import { canTransition, isTerminal } from '../core/order-state.ts';
import type { Balance, Fill, MarketInfo, MarketType, Order, OrderStatus, OrderType, VenueEnvironment } from '../core/types.ts';
import { defaultMarket } from './paper.ts';
import { BackoffState, installRequestGate, type Backoff } from './request-gate.ts';
import { replyProblem } from './replies.ts';
import type { ExchangeClient, ExchangeListener, FundingPayment, OrderUpdate, VenueOrder, VenuePosition, VenueStatus } from './types.ts';

export type VenueId = 'binance' | 'bybit';

/** connect() failed because the venue could not be reached (not because it refused us): worth another try later. */
export class VenueUnreachable extends UserError {}

export interface CcxtExchangeOptions {
  venue: VenueId;
  /** perp = USDT-margined linear perpetuals. */
  marketType: MarketType;
  /** Test money: Binance spot testnet (ccxt sandbox mode), Binance demo trading for USDⓈ-M, Bybit testnet (sandbox) for both. */
  testnet: boolean;
  /** Engine symbols, e.g. 'BTC/USDT' (perps map to 'BTC/USDT:USDT' for ccxt). */
  symbols: string[];
  credentials: { apiKey: string; secret: string; password?: string };
  clock: Clock;
  log: Logger;
  leverage: number;
  marginMode: 'isolated' | 'cross';
  /** ccxt pro watchOrders/watchMyTrades; REST polling runs anyway. */
  websocket: boolean;
  /** REST polling period for order updates. */
  pollMs: number;
  recvWindowMs: number;
  /** Replace the venue's API hosts with this base URL (tests, proxies); paths are kept. */
  apiUrl?: string;
  /** Same for websocket hosts. */
  wsUrl?: string;
  /** An injected ccxt instance (tests). */
  exchange?: unknown;
  /** Waits (tests inject simulated time); `signal` ends a wait early when the adapter closes. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told whenever the adapter waits for the venue (a failed read it retries, a rate-limit pause): start-up shows it. */
  onWait?: (message: string) => void;
  /** Called with the ccxt instance before its first request (operations metrics wrap its HTTP calls). */
  instrument?: (ex: object) => void;
}

type CcxtModule = (typeof import('ccxt'))['default'];
type Params = Record<string, unknown>;

/** What a failure means for us. */
type Failure = 'network' | 'rate' | 'clock' | 'auth' | 'not_found' | 'duplicate' | 'refused';

/** An answer (or the error ccxt made of it) as the venue spec reads rate limits from it. */
interface AnswerText {
  /** HTTP status; undefined when only ccxt's error text is left. */
  status?: number;
  text: string;
  headers: Record<string, string | undefined>;
}

/** How a venue lists our trades. */
type TradePaging =
  /** Ids grow per symbol: continue after the last seen id (Binance fromId). */
  | { paging: 'id'; page: number; after(lastId: string): Params }
  /** Ids are not ordered: by time, page after page with the venue's cursor (Bybit). */
  | { paging: 'cursor'; page: number; next(trades: CcxtTrade[]): Params | undefined };

/** What a venue's quirks look like to the adapter. One object per venue keeps them apart. */
export interface VenueSpec {
  readonly id: VenueId;
  readonly label: string;
  /** How /status names the perps market ("USDⓈ-M perps", "USDT perps"). */
  readonly perpLabel: string;
  ccxtClass(type: MarketType): string;
  options(type: MarketType, recvWindowMs: number): Params;
  /** Adjust the fresh ccxt instance before any request. */
  prepare?(ex: Exchange, type: MarketType): void;
  useTestnet(ex: Exchange, type: MarketType): void;
  /** The test-money environment's name for /status ("testnet", "demo"). */
  testLabel(type: MarketType): string;
  /** What to check when the venue refuses the API keys at connect. */
  keysHint(testnet: boolean, type: MarketType): string;
  /** After the keys were accepted: why this account cannot trade this market type, or null. */
  checkAccount?(ex: Exchange, type: MarketType): Promise<string | null>;
  readonly clientOrderId: { max: number; pattern: RegExp; chars: string };
  /** ccxt createOrder arguments, or why the venue cannot take the order. */
  orderArgs(
    o: Order,
    type: MarketType,
    qty: number | undefined,
  ): { type: 'market' | 'limit'; amount: number; price?: number; params: Params } | string;
  /** Orders the venue keeps apart (Binance USDⓈ-M: stops live in the algo service; Bybit spot: StopOrder). */
  isConditional(o: { type: OrderType }, type: MarketType): boolean;
  /** Params to look up / cancel an order by client order id. */
  byClientId(coid: string, conditional: boolean): Params;
  /** Cancel by client order id alone, never with the venue's order id too. */
  readonly cancelByClientIdOnly?: boolean;
  /** What a createOrder answer carries: the order's state (Binance), or only its ids (Bybit: creation is asynchronous). */
  readonly createAnswer: 'state' | 'ids';
  /** Look an order up by client order id (or the venue's id); null when the venue does not know it. Default: ccxt fetchOrder. */
  fetchOrder?(ex: Exchange, ccxtSymbol: string, ref: { coid?: string; id?: string }): Promise<CcxtOrder | null>;
  /** Our order type from the venue's raw order. */
  orderType(info: Record<string, unknown>): OrderType;
  /** Our status from the venue's raw order where ccxt's unified status loses something; undefined: ccxt's. */
  status?(info: Record<string, unknown>): OrderStatus | undefined;
  /** The client order id a raw trade carries, if any. */
  tradeClientId(info: Record<string, unknown>): string | undefined;
  readonly trades: TradePaging;
  /** Longest time range one trade query may span. */
  tradeWindowMs(type: MarketType): number;
  balances(b: CcxtBalances, type: MarketType): Balance[];
  /** Perps positions of these ccxt symbols. Default: one ccxt fetchPositions call. */
  positions?(ex: Exchange, symbols: string[]): Promise<CcxtPosition[]>;
  /** A funding payment's amount, positive when received. Default: ccxt's amount. */
  fundingAmount?(r: CcxtFunding): number;
  /** Set the margin mode for a symbol (default: ccxt setMarginMode); a note when it changed more than that symbol. */
  setMarginMode?(ex: Exchange, mode: 'isolated' | 'cross', ccxtSymbol: string, leverage: number): Promise<string | undefined>;
  /** A conditional order's raw state: 'working' (not triggered), a final status, or 'triggered' with the order it became. */
  conditionalState?(
    info: Record<string, unknown>,
  ): { state: 'working' | 'triggered'; actualOrderId?: string } | { state: 'final'; status: OrderStatus };
  /** "Nothing to change" answers of setLeverage/setMarginMode. */
  isNoChange(e: unknown, cx: CcxtModule): boolean;
  /** The venue's codes that ccxt classes too broadly (checked first); undefined: the generic rule. */
  classify?(e: unknown, msg: string, cx: CcxtModule): Failure | undefined;
  /** A rate-limit answer: how long to wait and what to call it; undefined when `a` is none. `now` is our clock (≈ the venue's). */
  backoff(a: AnswerText, now: number): Backoff | undefined;
}

const toStr = (x: unknown): string | undefined => (x === undefined || x === null || x === '' ? undefined : String(x));

export const BINANCE: VenueSpec = {
  id: 'binance',
  label: 'Binance',
  perpLabel: 'USDⓈ-M perps',
  ccxtClass: (type) => (type === 'spot' ? 'binance' : 'binanceusdm'),
  options: (type, recvWindowMs) => ({
    // Only the market type we trade (one exchangeInfo call), no private currency/margin listings.
    fetchMarkets: { types: [type === 'spot' ? 'spot' : 'linear'] },
    fetchCurrencies: false,
    fetchMargins: false,
    recvWindow: recvWindowMs,
    defaultType: type === 'spot' ? 'spot' : 'swap',
    warnOnFetchOpenOrdersWithoutSymbol: false,
    fetchOpenOrders: { warnWithoutSymbol: false },
    // We handle "no need to change margin type" ourselves.
    setMarginMode: { throwMarginModeAlreadySet: true },
  }),
  useTestnet(ex, type) {
    // ccxt 4.5 refuses private calls to the old futures testnet (deprecated by Binance) and points
    // to demo trading instead; spot keeps testnet.binance.vision.
    if (type === 'spot') ex.setSandboxMode(true);
    else (ex as unknown as { enableDemoTrading(on: boolean): void }).enableDemoTrading(true);
  },
  testLabel: (type) => (type === 'spot' ? 'testnet' : 'demo'),
  keysHint: (testnet, type) =>
    testnet
      ? `exchange.testnet is true: use ${type === 'spot' ? 'Spot Testnet (testnet.binance.vision)' : 'demo trading (demo.binance.com)'} API keys, not live ones`
      : 'exchange.testnet is false: use live API keys (testnet/demo keys are rejected by the live venue)',
  clientOrderId: { max: 36, pattern: /^[.A-Z:/a-z0-9_-]{1,36}$/, chars: 'A-Z a-z 0-9 . : / _ -' },
  orderArgs(o, type, qty) {
    const params: Params = { clientOrderId: o.clientOrderId };
    // Spot has no reduce-only flag (the venue would refuse the unknown parameter).
    if (type === 'perp' && o.reduceOnly) params['reduceOnly'] = true;
    if (o.quoteQty != null) {
      if (type !== 'spot') return 'a quote amount (quoteQty) is only supported on spot';
      // binance.js createOrderRequest: params.cost → quoteOrderQty on a spot MARKET order.
      return { type: 'market', amount: o.quoteQty, params: { ...params, cost: o.quoteQty } };
    }
    const amount = qty ?? 0;
    switch (o.type) {
      case 'market':
        return { type: 'market', amount, params };
      case 'limit':
        if (o.tif === 'PO')
          params['postOnly'] = true; // spot LIMIT_MAKER, futures timeInForce GTX
        else params['timeInForce'] = o.tif;
        return { type: 'limit', amount, price: o.price!, params };
      // triggerPrice: spot STOP_LOSS / STOP_LOSS_LIMIT, USDⓈ-M STOP_MARKET / STOP (algo service).
      case 'stop_market':
        return { type: 'market', amount, params: { ...params, triggerPrice: o.stopPrice } };
      case 'stop_limit':
        return { type: 'limit', amount, price: o.price!, params: { ...params, triggerPrice: o.stopPrice } };
      default:
        return `unknown order type ${String(o.type)}`;
    }
  },
  isConditional: (o, type) => type === 'perp' && (o.type === 'stop_market' || o.type === 'stop_limit'),
  // ccxt maps clientOrderId to origClientOrderId (fetch/cancel) or clientAlgoId (USDⓈ-M conditionals, trigger: true).
  byClientId: (coid, conditional) => (conditional ? { clientOrderId: coid, trigger: true } : { clientOrderId: coid }),
  createAnswer: 'state',
  orderType(info) {
    const t = String(info['type'] ?? info['orderType'] ?? '').toUpperCase();
    if (t === 'STOP_LOSS' || t === 'TAKE_PROFIT' || t === 'STOP_MARKET' || t === 'TAKE_PROFIT_MARKET') return 'stop_market';
    if (t === 'STOP_LOSS_LIMIT' || t === 'TAKE_PROFIT_LIMIT') return 'stop_limit';
    // USDⓈ-M: STOP and TAKE_PROFIT are the limit variants.
    if ((t === 'STOP' || t === 'TAKE_PROFIT') && 'positionSide' in info) return 'stop_limit';
    if (t === 'MARKET') return 'market';
    return 'limit';
  },
  // Stream trades carry the client order id as `c`.
  tradeClientId: (info) => toStr(info['c']),
  // Binance trade ids grow per symbol; fromId returns trades with id >= fromId.
  trades: { paging: 'id', page: 1000, after: (lastId) => ({ fromId: (BigInt(lastId) + 1n).toString() }) },
  tradeWindowMs: (type) => (type === 'spot' ? 24 * 3_600_000 : 7 * 24 * 3_600_000),
  balances(b, type) {
    if (type === 'perp') {
      // The wallet (realized PnL, fees, funding) is what the journal tracks; ccxt's "total" adds the
      // unrealized PnL. free + locked = walletBalance, locked = initial margin.
      const assets = ((b.info as { assets?: Array<Record<string, unknown>> } | undefined)?.assets ?? []) as Array<Record<string, unknown>>;
      return assets
        .map((a) => {
          const wallet = Number(a['walletBalance'] ?? 0);
          const locked = Number(a['initialMargin'] ?? 0);
          return { asset: String(a['asset']), free: wallet - locked, locked };
        })
        .filter((x) => x.free !== 0 || x.locked !== 0);
    }
    const out: Balance[] = [];
    const free = (b.free ?? {}) as unknown as Record<string, number | undefined>;
    const used = (b.used ?? {}) as unknown as Record<string, number | undefined>;
    for (const asset of Object.keys({ ...free, ...used })) {
      const f = Number(free[asset] ?? 0);
      const l = Number(used[asset] ?? 0);
      if (f !== 0 || l !== 0) out.push({ asset, free: f, locked: l });
    }
    return out;
  },
  conditionalState(info) {
    const s = toStr(info['algoStatus']);
    if (s === undefined) return { state: 'working' };
    switch (s) {
      case 'NEW':
      case 'TRIGGERING':
        return { state: 'working' };
      case 'TRIGGERED':
      case 'FINISHED': {
        const actual = toStr(info['actualOrderId']);
        return actual === undefined ? { state: 'working' } : { state: 'triggered', actualOrderId: actual };
      }
      case 'CANCELED':
        return { state: 'final', status: 'cancelled' };
      case 'EXPIRED':
        return { state: 'final', status: 'expired' };
      case 'REJECTED':
        return { state: 'final', status: 'rejected' };
      default:
        return { state: 'working' };
    }
  },
  isNoChange: (e, cx) => e instanceof cx.MarginModeAlreadySet || /No need to change|-4046|-4059/.test(errorMessage(e)),
  classify(_e, msg) {
    if (/"code":\s*-2015\b|"code":\s*-2014\b|"code":\s*-1022\b/.test(msg)) return 'auth'; // ccxt maps a late -2015 to DDoSProtection
    if (/"code":\s*-1021\b/.test(msg)) return 'clock';
    if (/Duplicate order sent|ClientOrderId is duplicated|"code":\s*-4116\b/i.test(msg)) return 'duplicate';
    return undefined;
  },
  backoff(a) {
    const code = a.status ?? (/ 418 /.test(` ${a.text} `) ? 418 : / 429 |"code":\s*-1003\b/.test(` ${a.text} `) ? 429 : undefined);
    if (code !== 418 && code !== 429) return undefined;
    const h = a.headers;
    const ra = Number(h['Retry-After'] ?? h['retry-after']);
    return {
      code: String(code),
      label: code === 418 ? 'HTTP 418: IP banned for now' : 'HTTP 429',
      critical: code === 418,
      ...(Number.isFinite(ra) && ra > 0 ? { waitMs: ra * 1000 } : {}),
      defaultMs: code === 418 ? 120_000 : 10_000,
    };
  },
};

// ---- Bybit v5 ------------------------------------------------------------------------------------

/** Bybit answers after which the order may or may not exist (server timeouts, "system error"). */
const BYBIT_UNKNOWN = /"retCode":\s*(10000|10016|5004|170007|170146|170001|170234)\b/;
/** orderLinkId already used (linear 110072, spot 170141). */
const BYBIT_DUPLICATE = /"retCode":\s*(110072|170141|12141)\b/;
/** Cancel answers meaning the order is not (or no longer) working: look it up for its final state. */
const BYBIT_GONE = /"retCode":\s*(110001|110008|110010|170213|170139|170142|170143)\b/;
/** Bybit cancels what a FIX venue would expire: IOC leftovers, post-only that would take, FOK. */
const BYBIT_EXPIRED = new Set([
  'EC_NoImmediateQtyToFill',
  'EC_PostOnlyWillTakeLiquidity',
  'EC_CancelForNoFullFill',
  'EC_NoEnoughQtyToFill',
]);

interface BybitList {
  result?: { list?: Array<Record<string, unknown>> };
}
/** The bybit.js members we use beyond the unified API (implicit v5 endpoints, UTA detection). */
interface BybitCcxt {
  privateGetV5OrderRealtime(p: Params): Promise<BybitList>;
  privateGetV5OrderHistory(p: Params): Promise<BybitList>;
  isUnifiedEnabled(): Promise<[boolean | undefined, boolean | undefined]>;
}
const bybitApi = (ex: Exchange): BybitCcxt => ex as unknown as BybitCcxt;

async function bybitUnified(ex: Exchange): Promise<boolean> {
  const [margin, account] = await bybitApi(ex).isUnifiedEnabled(); // /v5/user/query-api + /v5/account/info, cached by ccxt
  return margin === true || account === true;
}

export const BYBIT: VenueSpec = {
  id: 'bybit',
  label: 'Bybit',
  perpLabel: 'USDT perps',
  ccxtClass: () => 'bybit',
  options: (type, recvWindowMs) => ({
    // Only the category we trade: instruments-info?category=spot, or linear (+ its PreLaunch listing).
    fetchMarkets: { types: [type === 'spot' ? 'spot' : 'linear'] },
    recvWindow: recvWindowMs, // sent as X-BAPI-RECV-WINDOW with every signed request
    defaultType: type === 'spot' ? 'spot' : 'swap',
    defaultSubType: 'linear',
    defaultSettle: 'USDT',
  }),
  prepare(ex) {
    // loadMarkets would call the private /v5/asset/coin/query-info (wallet permission) for coin
    // metadata we never use.
    (ex.has as Record<string, unknown>)['fetchCurrencies'] = false;
  },
  // testnet: true means Bybit's TESTNET (api-testnet.bybit.com / stream-testnet, its own account, keys
  // and play money), which is ccxt's sandbox mode. Bybit's "demo trading" (api-demo.bybit.com, keys
  // made inside a live account) is a separate service we do not use.
  useTestnet: (ex) => ex.setSandboxMode(true),
  testLabel: () => 'testnet',
  keysHint: (testnet) =>
    testnet
      ? 'exchange.testnet is true: use API keys created on testnet.bybit.com (not live or demo-trading keys)'
      : 'exchange.testnet is false: use live API keys (testnet and demo-trading keys are rejected by the live venue)',
  async checkAccount(ex, type) {
    if (type !== 'spot' || (await bybitUnified(ex))) return null;
    return 'Bybit spot trading needs a Unified Trading Account (this is a classic account): upgrade it on bybit.com, or trade USDT perps';
  },
  // orderLinkId: at most 36 of letters, digits, '-' and '_'.
  clientOrderId: { max: 36, pattern: /^[A-Za-z0-9_-]{1,36}$/, chars: 'A-Z a-z 0-9 _ -' },
  orderArgs(o, type, qty) {
    // bybit.js createOrderRequest: clientOrderId → orderLinkId, category from the market.
    const params: Params = { clientOrderId: o.clientOrderId };
    if (type === 'perp' && o.reduceOnly) params['reduceOnly'] = true; // spot has none
    if (o.quoteQty != null) {
      if (type !== 'spot') return 'a quote amount (quoteQty) is only supported on spot';
      // A spot market buy of `cost` quote: qty = cost with marketUnit quoteCoin.
      return { type: 'market', amount: o.quoteQty, params: { ...params, cost: o.quoteQty, marketUnit: 'quoteCoin' } };
    }
    const amount = qty ?? 0;
    // Linear conditionals need the direction: a sell stop triggers on the way down, a buy stop on the way up.
    // Spot conditionals (orderFilter StopOrder) take none: the venue compares with the price at placement.
    const trigger = (): Params =>
      type === 'perp'
        ? { triggerPrice: o.stopPrice, triggerDirection: o.side === 'sell' ? 'descending' : 'ascending' }
        : { triggerPrice: o.stopPrice };
    switch (o.type) {
      case 'market':
        return { type: 'market', amount, params }; // Bybit market orders are IOC by nature: no timeInForce
      case 'limit':
        if (o.tif === 'PO')
          params['postOnly'] = true; // timeInForce PostOnly
        else params['timeInForce'] = o.tif;
        return { type: 'limit', amount, price: o.price!, params };
      case 'stop_market':
        return { type: 'market', amount, params: { ...params, ...trigger() } };
      case 'stop_limit':
        return { type: 'limit', amount, price: o.price!, params: { ...params, timeInForce: 'GTC', ...trigger() } };
      default:
        return `unknown order type ${String(o.type)}`;
    }
  },
  // Conditional orders keep their order id when they trigger; only spot needs orderFilter=StopOrder to cancel one.
  isConditional: (o, type) => type === 'spot' && (o.type === 'stop_market' || o.type === 'stop_limit'),
  byClientId: (coid, conditional) => (conditional ? { orderLinkId: coid, trigger: true } : { orderLinkId: coid }),
  cancelByClientIdOnly: true,
  createAnswer: 'ids', // { orderId, orderLinkId }: the state comes by the order stream or the next poll
  async fetchOrder(ex, ccxtSymbol, ref) {
    // UTA: /v5/order/realtime answers open orders and the last 500 closed ones (all kinds, conditionals
    // included) when asked by id; older ones are in /v5/order/history. Asking both is the lookup.
    const m = ex.market(ccxtSymbol);
    const q: Params = { category: m.spot ? 'spot' : 'linear', symbol: m.id };
    if (ref.coid !== undefined) q['orderLinkId'] = ref.coid;
    else if (ref.id !== undefined) q['orderId'] = ref.id;
    else return null;
    const api = bybitApi(ex);
    for (const endpoint of [api.privateGetV5OrderRealtime, api.privateGetV5OrderHistory]) {
      const res = await endpoint.call(ex, q);
      const row = (res.result?.list ?? []).find((r) =>
        ref.coid !== undefined ? r['orderLinkId'] === ref.coid : String(r['orderId']) === ref.id,
      );
      if (row !== undefined) return ex.parseOrder(row, m);
    }
    return null;
  },
  orderType(info) {
    const market = String(info['orderType'] ?? '') === 'Market';
    const trigger = Number(info['triggerPrice'] ?? 0);
    const stop = trigger > 0 || info['stopOrderType'] === 'Stop';
    if (stop) return market ? 'stop_market' : 'stop_limit';
    return market ? 'market' : 'limit';
  },
  status(info) {
    switch (toStr(info['orderStatus'])) {
      case 'Cancelled':
      case 'PartiallyFilledCanceled': // ccxt calls this 'closed' (filled): it is not
      case 'Deactivated': {
        if (BYBIT_EXPIRED.has(String(info['rejectReason'] ?? ''))) return 'expired';
        const tif = toStr(info['timeInForce']);
        const ioc = tif === 'IOC' || tif === 'FOK' || tif === 'PostOnly' || info['orderType'] === 'Market';
        return ioc && info['cancelType'] !== 'CancelByUser' ? 'expired' : 'cancelled';
      }
      case 'Rejected':
        return 'rejected';
      default:
        return undefined;
    }
  },
  tradeClientId: (info) => toStr(info['orderLinkId']),
  // /v5/execution/list: at most 100 per page, newest first, execIds are UUIDs; nextPageCursor pages on.
  trades: {
    paging: 'cursor',
    page: 100,
    next(trades) {
      for (const t of trades) {
        const c = toStr((t.info as Record<string, unknown> | undefined)?.['nextPageCursor']);
        if (c !== undefined) return { cursor: c };
      }
      return undefined;
    },
  },
  tradeWindowMs: () => 7 * 24 * 3_600_000,
  balances(b, type) {
    // /v5/account/wallet-balance (UNIFIED, or CONTRACT/SPOT on classic accounts). The wallet is what the
    // journal tracks (realized PnL, fees, funding; no unrealized PnL): free + locked = walletBalance;
    // locked = spot order holds, plus, for perps, position and order initial margin.
    const lists = ((b.info as { result?: { list?: Array<Record<string, unknown>> } } | undefined)?.result?.list ?? []) as Array<
      Record<string, unknown>
    >;
    const out: Balance[] = [];
    for (const acct of lists) {
      for (const c of (acct['coin'] ?? []) as Array<Record<string, unknown>>) {
        const num = (k: string): number => Number(toStr(c[k]) ?? 0) || 0;
        let locked = num('locked');
        if (type === 'perp') locked += num('totalPositionIM') + num('totalOrderIM');
        const wallet = toStr(c['walletBalance']) !== undefined ? num('walletBalance') : num('free') + num('locked');
        if (wallet !== 0 || locked !== 0) out.push({ asset: String(c['coin']), free: wallet - locked, locked });
      }
    }
    return out;
  },
  // bybit.js fetchPositions takes one symbol per call.
  async positions(ex, symbols) {
    const out: CcxtPosition[] = [];
    for (const s of symbols) out.push(...(await ex.fetchPositions([s])));
    return out;
  },
  // ccxt reads the Funding execution's execFee, which is positive when the account PAID.
  fundingAmount: (r) => -Number(r.amount),
  async setMarginMode(ex, mode, ccxtSymbol, leverage) {
    if (!(await bybitUnified(ex))) {
      // Classic account: per symbol, /v5/position/switch-isolated (it wants the leverage too); 110026 = already so.
      await ex.setMarginMode(mode, ccxtSymbol, { leverage });
      return undefined;
    }
    // Unified trading account: the margin mode belongs to the whole ACCOUNT (every symbol, spot margin
    // too). Read it (/v5/account/info) and switch (/v5/account/set-margin-mode) only when it differs.
    const current = (await ex.fetchMarginMode(ccxtSymbol)).marginMode;
    if (current === mode) return undefined;
    if (current === 'portfolio')
      throw new Error(
        `the unified account uses portfolio margin: Skipper leaves it alone; switch it to ${mode} margin on bybit.com if you want that`,
      );
    await ex.setMarginMode(mode, ccxtSymbol);
    return `switched the whole unified trading account from ${current ?? 'unknown'} to ${mode} margin (Bybit sets it per account, not per symbol)`;
  },
  isNoChange: (e, cx) =>
    e instanceof cx.MarginModeAlreadySet ||
    e instanceof cx.NoChange ||
    /"retCode":\s*(110043|110026|110025|34036)\b|not modified/i.test(errorMessage(e)),
  classify(e, msg, cx) {
    if (BYBIT_DUPLICATE.test(msg)) return 'duplicate';
    if (BYBIT_GONE.test(msg)) return 'not_found';
    if (BYBIT_UNKNOWN.test(msg)) return 'network';
    // bybit.js throws a plain ExchangeError for ANY JSON answer without a retCode (a proxy's or a
    // gateway's 5xx page): that is no decision of the venue's.
    if (e instanceof cx.ExchangeError && e.constructor === cx.ExchangeError && !/"ret_?[cC]ode"/.test(msg)) return 'network';
    return undefined;
  },
  backoff(a, now) {
    const msg = a.text;
    const code = /"retCode":\s*10006\b/.test(msg)
      ? '10006'
      : /"retCode":\s*10018\b/.test(msg)
        ? '10018'
        : a.status === 403 || (a.status === undefined && / 403 /.test(` ${msg} `))
          ? '403'
          : undefined;
    if (code === undefined) return undefined;
    const h = a.headers;
    const ra = Number(h['Retry-After']);
    const reset = Number(h['X-Bapi-Limit-Reset-Timestamp']); // ms, when this key's limit window reopens
    const waitMs = Number.isFinite(ra) && ra > 0 ? ra * 1000 : Number.isFinite(reset) && reset > now ? reset - now : undefined;
    const wait = waitMs !== undefined ? { waitMs } : {};
    // HTTP 403 "access too frequent": the IP is banned for (at least) ten minutes.
    if (code === '403') return { code, label: 'HTTP 403: IP banned for now', critical: true, ...wait, defaultMs: 600_000 };
    return {
      code,
      label: code === '10006' ? 'too many requests (retCode 10006)' : 'IP rate limit exceeded (retCode 10018)',
      critical: false,
      ...wait,
      defaultMs: code === '10006' ? 2_000 : 10_000,
    };
  },
};

const VENUES: Partial<Record<VenueId, VenueSpec>> = { binance: BINANCE, bybit: BYBIT };

// ---- tuning ---------------------------------------------------------------------------------------

/** See the unknown-order rule at the top. */
export const RESOLVE_MARGIN_MS = 5_000;
const RESOLVE_ATTEMPTS = 8;
const RESOLVE_BASE_MS = 250;
const RESOLVE_MAX_MS = 8_000;
const READ_ATTEMPTS = 4;
const READ_BASE_MS = 250;
const READ_MAX_MS = 5_000;
const CANCEL_ATTEMPTS = 3;
/** Entries waiting behind a rate limit: at most this many; one older than this is stale and never sent. */
const MAX_QUEUED_ENTRIES = 10;
const STALE_ENTRY_MS = 30_000;
/** Polls a terminal update may wait for its trades to show up. */
const MAX_DEFERRALS = 3;
const FUNDING_POLL_MS = 60_000;
const FUNDING_LOOKBACK_MS = 24 * 3_600_000;
const POLL_LOOKBACK_MS = 10 * 60_000;
const TICKER_TTL_MS = 15_000;
const WS_BACKOFF_MS = 1_000;
const WS_BACKOFF_MAX_MS = 30_000;
/** After a 429/418: every request is this many times slower for this long after the wait ends. */
const SLOWDOWN_FACTOR = 4;
const SLOWDOWN_MS = 60_000;
/** Bybit trade polls re-read this much before the last seen trade (its executions may show up late; dedup absorbs the overlap). */
const TRADE_OVERLAP_MS = 60_000;
const SEEN_TRADES_MAX = 20_000;
/** Finished orders kept in memory (late duplicates of their events are recognised meanwhile). */
const TRACKED_MAX = 2_000;
const EPS = 1e-9;

type Phase = 'pending' | 'sending' | 'live' | 'resolving' | 'stuck' | 'done';

interface Tracked {
  coid: string;
  symbol: string;
  order: Order;
  conditional: boolean;
  phase: Phase;
  /** Last status reported to the listener. */
  status: OrderStatus;
  /** Sum of the (gross) quantities of the trades reported as its fills. */
  fillQty: number;
  venueFilled: number;
  /** Cumulative filled quantity last reported in an update. */
  venueFilledReported: number;
  exchangeOrderId?: string;
  /** The regular order a triggered conditional became. */
  actualOrderId?: string;
  /** Our clock when createOrder went out (NaN: not sent by this process). */
  sentAt: number;
  /** Our clock when it was handed to us (an entry queued behind a rate limit goes stale). */
  queuedAt: number;
  /** The venue answered with a refusal that proves it did not process the request (429/418). */
  refusedBy?: string;
  cancelRequested: boolean;
  deferrals: number;
  stuckAlerted: boolean;
  sending?: Promise<void>;
  /** A stream update that arrived before the createOrder answer (applied right after it). */
  early?: CcxtOrder;
}

/** The venue's view of one of our orders. */
interface Seen {
  id: string;
  coid: string | undefined;
  status: OrderStatus;
  qty: number;
  filled: number;
  raw: CcxtOrder;
  actualOrderId?: string;
  trades: CcxtTrade[];
}

/**
 * A wait that keeps the process alive (a retry at start-up is all there is to do then) and ends
 * early when the adapter closes.
 */
const realSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });

/** Error text safe for logs and chat: secrets and signatures scrubbed, request URLs dropped. */
export function clean(e: unknown): string {
  return scrubSecrets(errorMessage(e))
    .replace(/(signature|apiKey|api_key|X-MBX-APIKEY|listenKey)=[^&\s"']+/gi, '$1=[REDACTED]')
    .replace(/\b(https?|wss?):\/\/\S+/g, '<url>')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The venue's own words: `binance {"code":-2010,"msg":"…"}` / `bybit {"retCode":110007,"retMsg":"…"}` → `… (code -2010)`. */
function venueWords(e: unknown): string {
  const msg = clean(e);
  const m = /\{"(?:code|retCode)":\s*(-?\d+),\s*"(?:msg|retMsg)":\s*"((?:[^"\\]|\\.)*)"/.exec(msg);
  if (m) return `${m[2]} (code ${m[1]})`;
  return msg.replace(/^\S+ (GET|POST|PUT|DELETE) <url> /, '').replace(/^(binance|binanceusdm|bybit) /, '');
}

const fmtNum = plain;
const hhmmss = (t: number): string => new Date(t).toISOString().slice(11, 19);
const fmtSec = (ms: number): string => `${Number((ms / 1000).toFixed(ms < 10_000 ? 2 : 0))} s`;

export class CcxtExchange implements ExchangeClient {
  readonly name: string;
  readonly environment: VenueEnvironment;
  readonly marketType: MarketType;

  private readonly o: CcxtExchangeOptions;
  private readonly spec: VenueSpec;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly sleepFn: (ms: number, signal?: AbortSignal) => Promise<void>;
  private listener: ExchangeListener | null = null;
  private cx: CcxtModule | null = null;
  private ex: Exchange | null = null;
  private connected = false;
  private closed = false;
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];

  private readonly markets = new Map<string, MarketInfo>();
  private readonly tracked = new Map<string, Tracked>();
  /** Venue order id (incl. the orders triggered conditionals became) → our client order id. */
  private readonly idToCoid = new Map<string, string>();
  private readonly seenTrades = new Set<string>();
  private readonly seenFunding = new Set<string>();
  private readonly tradeCursor = new Map<string, { since: number; lastId?: string }>();
  private readonly fundingCursor = new Map<string, number>();
  private readonly tradeLocks = new Map<string, Promise<unknown>>();
  private readonly leverageSet = new Map<string, number>();
  private readonly tickers = new Map<string, { price: number; at: number }>();
  private readonly feeWarned = new Set<string>();
  private nextFundingPoll = 0;

  // connection state for /status
  private up = false;
  private upSince: number;
  private detail = 'not connected';
  private lastError: string | undefined;
  /** The venue asked us to back off until then: no request leaves before (see request-gate.ts). */
  private readonly backoffState = new BackoffState();
  /** Waits already announced through onWait (one line per pause, not per request). */
  private announcedUntil = 0;
  private slowUntil = 0;
  private baseRateLimit = 0;
  private streamDown = false;

  constructor(opts: CcxtExchangeOptions) {
    this.o = opts;
    const spec = VENUES[opts.venue];
    if (!spec) throw new UserError(`${opts.venue} is not supported yet (supported: ${Object.keys(VENUES).join(', ')})`);
    this.spec = spec;
    this.name = opts.venue;
    this.environment = opts.testnet ? 'testnet' : 'live';
    this.marketType = opts.marketType;
    this.clock = opts.clock;
    this.log = opts.log;
    this.sleepFn = opts.sleep ?? realSleep;
    this.upSince = opts.clock.now();
    setMaxListeners(0, this.abort.signal); // every concurrent wait (polls, streams, lookups, reads) listens for close()
    registerSecret(opts.credentials.apiKey);
    registerSecret(opts.credentials.secret);
    registerSecret(opts.credentials.password);
  }

  setListener(listener: ExchangeListener): void {
    this.listener = listener;
  }

  // ---- connection ---------------------------------------------------------------------------------

  private get envLabel(): string {
    const what = this.marketType === 'spot' ? 'spot' : this.spec.perpLabel;
    return `${this.spec.label} ${what} ${this.o.testnet ? this.spec.testLabel(this.marketType) : 'LIVE'}`;
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
      this.fundingCursor.set(s, now - FUNDING_LOOKBACK_MS);
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

  /** Every request of this ccxt instance waits out rate-limit pauses; every answer is checked (request-gate.ts). */
  private installGate(ex: Exchange, cx: CcxtModule): void {
    const mark = ex as unknown as { skipperGate?: CcxtExchange };
    if (mark.skipperGate !== undefined) return; // connect() again on the same instance
    mark.skipperGate = this;
    const venue = this.spec.id;
    installRequestGate(ex, {
      wait: () => this.gate(),
      backoff: (a) => this.spec.backoff({ status: a.status, text: a.body, headers: a.headers }, this.clock.now()),
      onBackoff: (b) => this.onBackoff(b),
      check: (a) => replyProblem(venue, a),
      malformed: (reason) => new cx.BadResponse(`${this.spec.label} ${reason}`),
    });
  }

  /** Margin mode and leverage per symbol ("no need to change" answers are fine). */
  private async setupPerps(): Promise<void> {
    const ex = this.ex!;
    const cx = this.cx!;
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
      await this.ensureLeverage(s, this.o.leverage).catch((e: unknown) => {
        throw new UserError(`${this.spec.label} refused leverage ${this.o.leverage} for ${s}: ${venueWords(e)}`);
      });
    }
  }

  private async ensureLeverage(symbol: string, leverage: number): Promise<void> {
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

  status(): VenueStatus {
    const now = this.clock.now();
    let detail = this.detail;
    const until = this.backoffState.until;
    if (now < until) detail = `${detail}; rate-limited by ${this.spec.label} until ${hhmmss(until)} UTC`;
    else if (now < this.slowUntil) detail = `${detail}; requests slowed down after a rate limit until ${hhmmss(this.slowUntil)} UTC`;
    if (this.streamDown && this.up) detail = `${detail}; order stream down (REST polling every ${Math.round(this.o.pollMs / 1000)} s)`;
    if (!this.up && this.lastError) detail = `${detail} (last error: ${this.lastError})`;
    return { up: this.up, detail, since: this.upSince };
  }

  private setUp(up: boolean, detail: string): void {
    if (up !== this.up) this.upSince = this.clock.now();
    this.up = up;
    this.detail = detail;
  }

  // ---- markets ------------------------------------------------------------------------------------

  market(symbol: string): MarketInfo {
    return this.markets.get(symbol) ?? defaultMarket(symbol, this.marketType);
  }

  private ccxtSymbol(symbol: string): string {
    if (this.marketType !== 'perp' || symbol.includes(':')) return symbol;
    return `${symbol}:${symbol.split('/')[1] ?? 'USDT'}`;
  }

  /** The engine symbol of a ccxt symbol. */
  private engineSymbol(ccxtSymbol: string | undefined): string | undefined {
    if (ccxtSymbol === undefined) return undefined;
    for (const s of this.o.symbols) if (this.ccxtSymbol(s) === ccxtSymbol || s === ccxtSymbol) return s;
    return this.marketType === 'perp' ? ccxtSymbol.split(':')[0] : ccxtSymbol;
  }

  private toMarketInfo(symbol: string, m: NonNullable<CcxtMarket>): MarketInfo {
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

  // ---- orders -------------------------------------------------------------------------------------

  submit(order: Order): void {
    const t: Tracked = {
      coid: order.clientOrderId,
      symbol: order.symbol,
      order: { ...order },
      conditional: this.spec.isConditional(order, this.marketType),
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
  private checkLocally(o: Order): string | null {
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
  private async sized(o: Order): Promise<{ qty: number | undefined } | string> {
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
  private async refPrice(symbol: string): Promise<number | undefined> {
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

  private async place(t: Tracked): Promise<void> {
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

  /** An entry that never left: it expired in our queue (journaled with why; not an order error). */
  private dropStale(t: Tracked, reason: string): void {
    t.phase = 'done';
    this.log.warn({ venue: this.name, coid: t.coid, reason }, 'order dropped before sending');
    this.emitUpdate(t, 'expired', 0, reason);
  }

  private localReject(t: Tracked, reason: string): void {
    t.phase = 'done';
    this.log.info({ venue: this.name, coid: t.coid, reason }, 'order rejected before sending');
    this.emitUpdate(t, 'rejected', 0, reason);
  }

  private async createFailed(t: Tracked, e: unknown): Promise<void> {
    const kind = this.failure(e);
    const words = venueWords(e);
    this.log.warn({ venue: this.name, coid: t.coid, kind, err: clean(e) }, 'createOrder failed');
    switch (kind) {
      case 'rate': {
        const wait = this.rateLimited(e);
        t.refusedBy = `rate-limited by the venue (${wait.label}): not placed`;
        return this.resolve(t, `rate-limited by the venue (${wait.label}); checking after the ${Math.ceil(wait.ms / 1000)} s it asked for`);
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
      default:
        t.phase = 'done';
        this.emitUpdate(t, 'rejected', 0, words);
    }
  }

  /**
   * Resolve an order whose outcome is unknown (see the rule at the top). Bounded; afterwards the
   * polling loop keeps looking at it with the same rule.
   */
  private async resolve(t: Tracked, cause: string): Promise<void> {
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

  private stuckAlert(t: Tracked): void {
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
  private deadline(t: Tracked): number {
    if (t.refusedBy !== undefined) return Math.max(this.backoffState.until, t.sentAt);
    const sent = Number.isFinite(t.sentAt) ? t.sentAt : -Infinity;
    return sent + this.o.recvWindowMs + RESOLVE_MARGIN_MS;
  }

  /** One look at an order we have no answer for. */
  private async lookup(t: Tracked): Promise<'found' | 'absent' | 'gone' | 'error'> {
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
          ? `never reached the venue (not found ${Math.round((askedAt - t.sentAt) / 1000)} s after sending, past the ${this.o.recvWindowMs} ms recvWindow)`
          : 'never reached the venue');
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

  private track(order: Order): Tracked {
    const t = this.untracked(order, this.spec.isConditional(order, this.marketType));
    this.tracked.set(t.coid, t);
    return t;
  }

  /** State for an order this process did not send (placed before a restart). */
  private untracked(order: Order, conditional: boolean): Tracked {
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

  private async doCancel(t: Tracked): Promise<void> {
    if (!this.connected || this.closed) return;
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
  private async refresh(t: Tracked): Promise<void> {
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

  // ---- venue orders → updates ---------------------------------------------------------------------

  /** Ask the venue for one of our orders by client order id; null only when the venue says it does not exist. */
  private async queryOrder(t: Tracked): Promise<Seen | null> {
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

  /** One order by the venue's id (a trade's order). */
  private async orderById(id: string, ccxtSymbol: string): Promise<CcxtOrder> {
    const ex = this.ex!;
    if (!this.spec.fetchOrder) return ex.fetchOrder(id, ccxtSymbol);
    const o = await this.spec.fetchOrder(ex, ccxtSymbol, { id });
    if (o === null) throw new Error(`${this.spec.label} does not know order ${id}`);
    return o;
  }

  /** The venue order as our state, following a triggered conditional to the order it became. */
  private async seen(t: Tracked | undefined, o: CcxtOrder): Promise<Seen> {
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
  private async deliver(t: Tracked, v: Seen): Promise<void> {
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

  private emitUpdate(t: Tracked, status: OrderStatus, filledQty: number | undefined, reason?: string, exchangeOrderId?: string): void {
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
    if (this.closed || this.listener === null) return;
    try {
      this.listener.onOrderUpdate(u);
    } catch (e) {
      this.log.error({ venue: this.name, coid: t.coid, err: errorMessage(e) }, 'listener failed on an order update');
    }
  }

  /** Forget the oldest finished orders (a long run's memory stays flat). */
  private prune(): void {
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
  private withTradeLock<T>(symbol: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tradeLocks.get(symbol) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    this.tradeLocks.set(
      symbol,
      run.catch(() => undefined),
    );
    return run;
  }

  /** New trades of a symbol since the cursor → fills. */
  private syncTrades(symbol: string): Promise<void> {
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
  private async tradePages(sym: string, since: number, until?: number, retried = true): Promise<CcxtTrade[]> {
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

  private tradeKey(tr: CcxtTrade): string {
    const id = (tr.symbol !== undefined ? this.ex!.markets?.[tr.symbol]?.id : undefined) ?? tr.symbol ?? '?';
    return `${id}:${tr.id}`;
  }

  /** One venue trade → at most one onFill, ever (per process). */
  private async emitTrade(tr: CcxtTrade, known?: Tracked, parent?: CcxtOrder): Promise<void> {
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
  private async learnTriggered(symbol: string): Promise<boolean> {
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

  private toFill(tr: CcxtTrade, symbol: string, coid: string, parent?: CcxtOrder): Fill {
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
  private baseFee(tr: CcxtTrade, m: MarketInfo): number {
    const many = (tr as { fees?: CcxtTrade['fee'][] }).fees;
    const fees = many && many.length > 0 ? many : tr.fee ? [tr.fee] : [];
    let total = 0;
    for (const fee of fees) if (fee?.currency === m.base) total += Number(fee.cost ?? 0);
    return total;
  }

  /** The fee rule: quote as is, base × price, anything else (BNB…) 0 (logged once per currency). */
  private feeInQuote(tr: CcxtTrade, m: MarketInfo, price: number): number {
    const many = (tr as { fees?: CcxtTrade['fee'][] }).fees;
    const fees = many && many.length > 0 ? many : tr.fee ? [tr.fee] : [];
    let total = 0;
    for (const fee of fees) {
      const cost = Number(fee?.cost ?? 0);
      if (!(cost !== 0)) continue;
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

  private async pollLoop(): Promise<void> {
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

  private async pollSymbol(symbol: string): Promise<void> {
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

  private async pollFunding(symbol: string): Promise<void> {
    const since = this.fundingCursor.get(symbol) ?? this.clock.now() - FUNDING_LOOKBACK_MS;
    const rows = await this.fetchFunding(symbol, since);
    for (const p of rows) {
      if (this.seenFunding.has(p.paymentId)) continue;
      this.seenFunding.add(p.paymentId);
      if (p.ts > (this.fundingCursor.get(symbol) ?? 0)) this.fundingCursor.set(symbol, p.ts);
      if (!this.closed) this.listener?.onFunding?.(p);
    }
  }

  /** Open orders of a symbol (regular and, where the venue keeps them apart, conditional). */
  private async openOrders(symbol: string): Promise<Seen[]> {
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

  private async streamLoop(kind: 'orders' | 'trades'): Promise<void> {
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

  private async onStreamTrade(tr: CcxtTrade): Promise<void> {
    const symbol = this.engineSymbol(tr.symbol);
    if (symbol === undefined || !this.o.symbols.includes(symbol)) return;
    const coid = tr.order !== undefined ? this.idToCoid.get(String(tr.order)) : undefined;
    await this.withTradeLock(symbol, () => this.emitTrade(tr, coid !== undefined ? this.tracked.get(coid) : undefined));
  }

  private async onStreamOrder(o: CcxtOrder): Promise<void> {
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
        t.conditional = this.spec.isConditional(t.order, this.marketType);
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

  private async coidOf(tr: CcxtTrade, symbol: string): Promise<string | undefined> {
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
    const ex = this.requireEx();
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
      .map((r) => ({
        paymentId: toStr(r.id) ?? `${symbol}:${r.timestamp}`,
        symbol,
        amount: this.spec.fundingAmount?.(r) ?? Number(r.amount),
        ts: Number(r.timestamp),
      }))
      .sort((a, b) => a.ts - b.ts);
  }

  private toVenueOrder(symbol: string, v: Seen): VenueOrder {
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

  private requireEx(): Exchange {
    if (this.ex === null || !this.connected) throw new Error(`${this.spec.label} is not connected`);
    return this.ex;
  }

  // ---- request plumbing ---------------------------------------------------------------------------

  /** A read for a caller outside: retried, and its error made safe to show. */
  private readPublic<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return this.wrap(what, () => this.read(what, fn));
  }

  private async wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new Error(`${this.spec.label} ${what}: ${venueWords(e)}`);
    }
  }

  /** Retry network-type failures with exponential backoff (bounded); never an ExchangeError. */
  private read<T>(what: string, fn: () => Promise<T>, attempts = READ_ATTEMPTS): Promise<T> {
    return this.withRetries(what, fn, attempts);
  }

  private async withRetries<T>(what: string, fn: () => Promise<T>, attempts = READ_ATTEMPTS): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.gate();
      try {
        const r = await fn();
        return r;
      } catch (e) {
        const kind = this.failure(e);
        if (kind === 'rate') this.rateLimited(e);
        else if (kind === 'clock') await this.ex?.loadTimeDifference().catch(() => undefined);
        const retryable = kind === 'network' || kind === 'rate' || kind === 'clock';
        if (!retryable || attempt >= attempts || this.closed) throw e;
        this.lastError = venueWords(e);
        const ms = Math.min(READ_MAX_MS, READ_BASE_MS * 2 ** (attempt - 1));
        this.waiting(`${this.spec.label} ${what}: ${this.lastError}; retry ${attempt + 1} of ${attempts} in ${fmtSec(ms)}`);
        await this.pause(ms);
      }
    }
  }

  /** What a failure means for us. */
  private failure(e: unknown): Failure {
    const cx = this.cx;
    if (cx === null) return 'network';
    const msg = errorMessage(e);
    const venue = this.spec.classify?.(e, msg, cx);
    if (venue !== undefined) return venue;
    if (e instanceof cx.InvalidNonce) return 'clock';
    if (e instanceof cx.DDoSProtection || e instanceof cx.RateLimitExceeded) return 'rate';
    if (e instanceof cx.OrderNotFound) return 'not_found';
    if (e instanceof cx.DuplicateOrderId) return 'duplicate';
    if (e instanceof cx.AuthenticationError) return 'auth';
    if (e instanceof cx.ExchangeError) return 'refused';
    // NetworkError, RequestTimeout, ExchangeNotAvailable (5xx), OperationFailed (-1000/-1001/-1006
    // "execution status unknown"), BadResponse, and anything else: we do not know what happened.
    return 'network';
  }

  /**
   * Every answer passes here (request-gate.ts): a rate-limit answer closes the gate for what it asked,
   * slows every request down for a while, and says so once.
   */
  private onBackoff(b: Backoff): void {
    const ex = this.ex;
    const now = this.clock.now();
    const ms = this.backoffState.close(b, now);
    const until = this.backoffState.until;
    this.slowUntil = until + SLOWDOWN_MS;
    if (ex !== null && this.baseRateLimit > 0) setRateLimit(ex, this.baseRateLimit * SLOWDOWN_FACTOR);
    this.lastError = `rate-limited (${b.label}), retry after ${Math.ceil(ms / 1000)} s`;
    this.log.warn({ venue: this.name, code: b.code, retryAfterMs: ms }, 'rate-limited by the venue');
    this.alert({
      type: 'exchange_down',
      severity: b.critical ? 'critical' : 'warning',
      title: `${this.spec.label} rate limit (${b.code})`,
      message: `${this.spec.label} asked the bot to wait ${Math.ceil(ms / 1000)} s (${b.label}). No request goes out until ${hhmmss(until)} UTC; they run slower for a minute after.`,
      key: `${this.name}:rate`,
    });
  }

  /** A request failed with a rate limit: the wait its answer asked for (recorded by the gate as it arrived). */
  private rateLimited(e: unknown): { ms: number; label: string } {
    const now = this.clock.now();
    let last = this.backoffState.last;
    if (last === undefined || now - last.at > last.ms) {
      // Not seen by the gate (an answer without the usual status): read what the error says.
      const b = this.spec.backoff({ text: errorMessage(e), headers: {} }, now) ?? {
        code: 'rate',
        label: 'rate limit',
        critical: false,
        defaultMs: 10_000,
      };
      this.onBackoff(b);
      last = this.backoffState.last!;
    }
    return { ms: Math.max(last.ms, this.backoffState.until - now), label: last.label };
  }

  /** Wait out a rate-limit pause; restore the normal request rate once the slow period is over. */
  private async gate(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      const until = this.backoffState.until;
      if (now >= until || this.closed) break;
      if (until > this.announcedUntil) {
        this.announcedUntil = until;
        this.waiting(
          `${this.spec.label} asked for a pause (${this.backoffState.last?.label ?? 'rate limit'}): no request until ${hhmmss(until)} UTC`,
        );
      }
      await this.pause(until - now);
    }
    if (this.slowUntil > 0 && this.clock.now() >= this.slowUntil && this.ex !== null) {
      this.slowUntil = 0;
      setRateLimit(this.ex, this.baseRateLimit);
    }
  }

  /** The adapter is waiting for the venue: the log, and whoever asked to hear it (start-up). */
  private waiting(message: string): void {
    this.log.warn({ venue: this.name }, message);
    try {
      this.o.onWait?.(message);
    } catch (e) {
      this.log.error({ venue: this.name, err: errorMessage(e) }, 'onWait failed');
    }
  }

  private noteSuccess(): void {
    if (!this.up && this.connected) {
      this.setUp(true, `connected to ${this.envLabel}`);
      this.log.info({ venue: this.name }, 'venue reachable again');
      this.alert({
        type: 'exchange_up',
        severity: 'info',
        title: `${this.spec.label} back`,
        message: `${this.envLabel} answers again.`,
        key: `${this.name}:up`,
      });
      this.listener?.onConnection?.(true, `${this.spec.label} reachable again`);
    }
  }

  private noteFailure(e: unknown): void {
    const err = clean(e);
    this.lastError = venueWords(e);
    this.log.warn({ venue: this.name, err }, 'venue poll failed');
    if (this.failure(e) === 'rate') this.rateLimited(e);
    if (this.up) {
      this.setUp(false, `${this.spec.label} unreachable`);
      this.alert({
        type: 'exchange_down',
        severity: 'warning',
        title: `${this.spec.label} unreachable`,
        message: `Order updates from ${this.envLabel} failed: ${this.lastError}. The bot keeps polling every ${Math.round(this.o.pollMs / 1000)} s.`,
        key: `${this.name}:down`,
      });
      this.listener?.onConnection?.(false, `${this.spec.label} unreachable: ${this.lastError}`);
    }
  }

  private alert(a: AlertInput): void {
    if (this.closed) return;
    try {
      this.listener?.onAlert?.(a);
    } catch (e) {
      this.log.error({ venue: this.name, err: errorMessage(e) }, 'listener failed on an alert');
    }
  }

  /** Sleep that close() interrupts. */
  private pause(ms: number): Promise<void> {
    if (this.closed || ms <= 0) return Promise.resolve();
    const signal = this.abort.signal;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done);
      this.sleepFn(ms, signal).then(done, done);
    });
  }
}

// ---- helpers -------------------------------------------------------------------------------------

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

function positionLeverage(p: CcxtPosition): number | undefined {
  if (isFiniteNumber(p.leverage) && p.leverage > 0) return p.leverage;
  // Binance positionRisk v3 has no leverage field: notional / initial margin.
  const n = Math.abs(Number(p.notional ?? 0));
  const im = Number(p.initialMargin ?? 0);
  return n > 0 && im > 0 ? Math.round(n / im) : undefined;
}

function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

const byTradeId = (a: CcxtTrade, b: CcxtTrade): number =>
  Number(a.timestamp ?? 0) - Number(b.timestamp ?? 0) || compareIds(String(a.id ?? ''), String(b.id ?? ''));

/** ccxt's throttler copies the refill rate at start: change both. */
function setRateLimit(ex: Exchange, ms: number): void {
  ex.rateLimit = ms;
  const th = (ex as unknown as { throttler?: { config?: { refillRate?: number } } }).throttler;
  if (th?.config && ms > 0) th.config.refillRate = 1 / ms;
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
export function rewriteUrls(ex: Exchange, apiUrl: string | undefined, wsUrl: string | undefined): void {
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
