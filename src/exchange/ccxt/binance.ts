// Binance spot and USDⓈ-M perpetuals (ccxt binance / binanceusdm).
import { errorMessage } from '../../core/errors.ts';
import { roundTo } from '../../core/num.ts';
import type { Balance } from '../../core/types.ts';
import { VENUES } from '../venues.ts';
import { z } from 'zod';
import { id, list, num, obj, type ReplySchemas } from './replies.ts';
import { toStr, type Params, type VenueSpec } from './spec.ts';

const spotBalance = z.looseObject({ asset: z.string(), free: num, locked: num });
const binanceOrder = z.looseObject({ orderId: id, symbol: z.string(), status: z.string() });
const binanceTrade = z.looseObject({ id, orderId: id, price: num, qty: num });
const futuresAsset = z.looseObject({ asset: z.string(), walletBalance: num });

/** Binance (spot /api/v3, USDⓈ-M /fapi): by method and path. */
const BINANCE_REPLIES: ReplySchemas = {
  byEndpoint: {
    'GET /api/v3/account': z.looseObject({ balances: z.array(spotBalance) }),
    'GET /api/v3/openOrders': z.array(binanceOrder),
    'GET /api/v3/order': binanceOrder,
    'POST /api/v3/order': z.looseObject({ orderId: id, symbol: z.string() }),
    'DELETE /api/v3/order': binanceOrder,
    'GET /api/v3/myTrades': z.array(binanceTrade),
    'GET /api/v3/exchangeInfo': z.looseObject({ symbols: list }),
    'GET /api/v3/time': z.looseObject({ serverTime: z.number() }),
    'GET /fapi/v2/account': z.looseObject({ assets: z.array(futuresAsset) }),
    'GET /fapi/v3/account': z.looseObject({ assets: z.array(futuresAsset) }),
    'GET /fapi/v2/positionRisk': z.array(z.looseObject({ symbol: z.string(), positionAmt: num })),
    'GET /fapi/v3/positionRisk': z.array(z.looseObject({ symbol: z.string(), positionAmt: num })),
    'GET /fapi/v1/openOrders': z.array(binanceOrder),
    'GET /fapi/v1/order': binanceOrder,
    'POST /fapi/v1/order': z.looseObject({ orderId: id, symbol: z.string() }),
    'DELETE /fapi/v1/order': binanceOrder,
    'GET /fapi/v1/algoOrder': z.looseObject({ algoId: id, algoStatus: z.string() }),
    'POST /fapi/v1/algoOrder': z.looseObject({ algoId: id }),
    'GET /fapi/v1/openAlgoOrders': z.union([z.array(obj), z.looseObject({ orders: list })]),
    'GET /fapi/v1/userTrades': z.array(binanceTrade),
    'GET /fapi/v1/income': list,
    'GET /fapi/v1/exchangeInfo': z.looseObject({ symbols: list }),
    'GET /fapi/v1/time': z.looseObject({ serverTime: z.number() }),
  },
};

export const BINANCE: VenueSpec = {
  // ---- capabilities (data) ----
  id: 'binance',
  label: VENUES.binance.label,
  perpLabel: VENUES.binance.markets.perp,
  testLabel: (type) => VENUES.binance.testMoney[type],
  clientOrderId: { max: 36, pattern: /^[.A-Z:/a-z0-9_-]{1,36}$/, chars: 'A-Z a-z 0-9 . : / _ -' },
  // USDⓈ-M stops live in the algo service (ccxt: trigger: true); spot stops are regular orders.
  conditionalStops: { spot: false, perp: true },
  // USDⓈ-M TRAILING_STOP_MARKET: callbackRate 0.1–10 (%). Spot's trailingDelta stops are not used.
  nativeTrailing: {
    spot: null,
    perp: { kind: 'order', label: `${VENUES.binance.label} ${VENUES.binance.markets.perp}`, minPct: 0.001, maxPct: 0.1 },
  },
  createAnswer: 'state',
  // Binance trade ids grow per symbol; fromId returns trades with id >= fromId.
  trades: { paging: 'id', page: 1000, after: (lastId) => ({ fromId: (BigInt(lastId) + 1n).toString() }) },
  tradeWindowMs: (type) => (type === 'spot' ? 24 * 3_600_000 : 7 * 24 * 3_600_000),
  replies: BINANCE_REPLIES,
  // ---- mappings ----
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
  keysHint: (testnet, type) =>
    testnet
      ? `exchange.testnet is true: use ${type === 'spot' ? 'Spot Testnet (testnet.binance.vision)' : 'demo trading (demo.binance.com)'} API keys, not live ones`
      : 'exchange.testnet is false: use live API keys (testnet/demo keys are rejected by the live venue)',
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
        // binance.js: trailingPercent → TRAILING_STOP_MARKET callbackRate (in %) on USDⓈ-M, activating at once.
        if (o.trailPct !== undefined)
          return type === 'perp'
            ? { type: 'market', amount, params: { ...params, trailingPercent: roundTo(o.trailPct * 100, 2) } }
            : 'native trailing stops are only used on USDⓈ-M perps';
        return { type: 'market', amount, params: { ...params, triggerPrice: o.stopPrice } };
      case 'stop_limit':
        return { type: 'limit', amount, price: o.price!, params: { ...params, triggerPrice: o.stopPrice } };
      default:
        return `unknown order type ${String(o.type)}`;
    }
  },
  // ccxt maps clientOrderId to origClientOrderId (fetch/cancel) or clientAlgoId (USDⓈ-M conditionals, trigger: true).
  byClientId: (coid, conditional) => (conditional ? { clientOrderId: coid, trigger: true } : { clientOrderId: coid }),
  orderType(info) {
    const t = String(info['type'] ?? info['orderType'] ?? '').toUpperCase();
    if (t === 'STOP_LOSS' || t === 'TAKE_PROFIT' || t === 'STOP_MARKET' || t === 'TAKE_PROFIT_MARKET' || t === 'TRAILING_STOP_MARKET')
      return 'stop_market';
    if (t === 'STOP_LOSS_LIMIT' || t === 'TAKE_PROFIT_LIMIT') return 'stop_limit';
    // USDⓈ-M: STOP and TAKE_PROFIT are the limit variants.
    if ((t === 'STOP' || t === 'TAKE_PROFIT') && 'positionSide' in info) return 'stop_limit';
    if (t === 'MARKET') return 'market';
    return 'limit';
  },
  // Stream trades carry the client order id as `c`.
  tradeClientId: (info) => toStr(info['c']),
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
    // A stop whose trigger the price has passed. By its words: for the USDⓈ-M algo-order endpoint ccxt
    // throws a plain ExchangeError with -2021 (checked on the fake), and on spot -2021 means a half-done
    // cancel-replace.
    if (/Order would immediately trigger|Stop price would trigger immediately|"code":\s*-4142\b/.test(msg)) return 'would_trigger';
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
