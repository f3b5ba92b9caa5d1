// Bybit v5 (unified trading account): spot and USDT linear perpetuals (ccxt bybit).
import type { Exchange, Position as CcxtPosition } from 'ccxt';
import { errorMessage } from '../../core/errors.ts';
import type { Balance } from '../../core/types.ts';
import { VENUES } from '../venues.ts';
import { z } from 'zod';
import { id, num, type ReplySchemas } from './replies.ts';
import { toStr, type Params, type VenueSpec } from './spec.ts';

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

/** Bybit v5: every answer is an envelope; the lists the adapter reads must be lists. */
const bybitEnvelope = z.looseObject({ retCode: z.number(), result: z.unknown() });
const bybitList = (row: z.ZodType) => z.looseObject({ retCode: z.number(), result: z.looseObject({ list: z.array(row) }) });
const BYBIT_REPLIES: ReplySchemas = {
  byEndpoint: {
    'GET /v5/account/wallet-balance': bybitList(z.looseObject({ coin: z.array(z.looseObject({ coin: z.string() })) })),
    'GET /v5/position/list': bybitList(z.looseObject({ symbol: z.string(), size: num })),
    'GET /v5/order/realtime': bybitList(z.looseObject({ orderId: id, orderStatus: z.string() })),
    'GET /v5/order/history': bybitList(z.looseObject({ orderId: id, orderStatus: z.string() })),
    // Funding executions carry no order id.
    'GET /v5/execution/list': bybitList(
      z.looseObject({ execId: id, orderId: z.union([z.number(), z.string()]), execQty: num, execPrice: num }),
    ),
    'POST /v5/order/create': z.looseObject({ retCode: z.number(), result: z.looseObject({ orderId: id }) }),
  },
  fallback: (path) => (path.startsWith('/v5/') ? bybitEnvelope : undefined),
};

export const BYBIT: VenueSpec = {
  // ---- capabilities (data) ----
  id: 'bybit',
  label: VENUES.bybit.label,
  perpLabel: VENUES.bybit.markets.perp,
  testLabel: (type) => VENUES.bybit.testMoney[type],
  // orderLinkId: at most 36 of letters, digits, '-' and '_'.
  clientOrderId: { max: 36, pattern: /^[A-Za-z0-9_-]{1,36}$/, chars: 'A-Z a-z 0-9 _ -' },
  // Spot conditionals are StopOrders (orderFilter=StopOrder to cancel); linear ones are regular orders.
  conditionalStops: { spot: true, perp: false },
  cancelByClientIdOnly: true,
  createAnswer: 'ids', // { orderId, orderLinkId }: the state comes by the order stream or the next poll
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
  replies: BYBIT_REPLIES,
  // ---- mappings ----
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
  keysHint: (testnet) =>
    testnet
      ? 'exchange.testnet is true: use API keys created on testnet.bybit.com (not live or demo-trading keys)'
      : 'exchange.testnet is false: use live API keys (testnet and demo-trading keys are rejected by the live venue)',
  async checkAccount(ex, type) {
    if (type !== 'spot' || (await bybitUnified(ex))) return null;
    return 'Bybit spot trading needs a Unified Trading Account (this is a classic account): upgrade it on bybit.com, or trade USDT perps';
  },
  // Linear: the position's trailingStop (/v5/position/trading-stop, a price distance), not an order
  // (position-trail.ts). The venue sets no bounds beyond a distance below the price: the limit table's apply.
  nativeTrailing: {
    spot: null,
    perp: { kind: 'position', label: `${VENUES.bybit.label} ${VENUES.bybit.markets.perp}`, minPct: 0, maxPct: 1 },
  },
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
        if (o.trailPct !== undefined) return 'a trailing stop is a position attribute on Bybit, not an order';
        return { type: 'market', amount, params: { ...params, ...trigger() } };
      case 'stop_limit':
        return { type: 'limit', amount, price: o.price!, params: { ...params, timeInForce: 'GTC', ...trigger() } };
      default:
        return `unknown order type ${String(o.type)}`;
    }
  },
  // Conditional orders keep their order id when they trigger; only spot needs orderFilter=StopOrder to cancel one.
  byClientId: (coid, conditional) => (conditional ? { orderLinkId: coid, trigger: true } : { orderLinkId: coid }),
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
    const stop = trigger > 0 || info['stopOrderType'] === 'Stop' || info['stopOrderType'] === 'TrailingStop';
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
    // "expect Falling, but trigger_price[…] >= current[…]" (110093; 110092 rising): ccxt says only InvalidOrder.
    if (/"retCode":\s*11009[23]\b/.test(msg)) return 'would_trigger';
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
