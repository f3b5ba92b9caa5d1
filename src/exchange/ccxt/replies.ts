/*
 * What a well-formed 2xx answer of each venue endpoint the adapter reads looks like. An answer that
 * does not fit (an HTML page from a proxy, `{}`, a list where an object belongs) is a failed read —
 * retried with backoff like a dropped connection — and never data: an empty account must not be read
 * out of a garbage page. Only the fields ccxt and the adapter rely on are required; anything else may
 * change freely.
 */
import { z } from 'zod';
import type { RawAnswer } from './request-gate.ts';

/** A number as the venues send them: a decimal string (or a JSON number). */
const num = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/)]);
const id = z.union([z.number(), z.string().min(1)]);
const obj = z.looseObject({});
const list = z.array(obj);

const spotBalance = z.looseObject({ asset: z.string(), free: num, locked: num });
const binanceOrder = z.looseObject({ orderId: id, symbol: z.string(), status: z.string() });
const binanceTrade = z.looseObject({ id, orderId: id, price: num, qty: num });
const futuresAsset = z.looseObject({ asset: z.string(), walletBalance: num });

/** Binance (spot /api/v3, USDⓈ-M /fapi): by method and path. */
const BINANCE: Record<string, z.ZodType> = {
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
};

/** Bybit v5: every answer is an envelope; the lists the adapter reads must be lists. */
const bybitEnvelope = z.looseObject({ retCode: z.number(), result: z.unknown() });
const bybitList = (row: z.ZodType) => z.looseObject({ retCode: z.number(), result: z.looseObject({ list: z.array(row) }) });
const BYBIT: Record<string, z.ZodType> = {
  'GET /v5/account/wallet-balance': bybitList(z.looseObject({ coin: z.array(z.looseObject({ coin: z.string() })) })),
  'GET /v5/position/list': bybitList(z.looseObject({ symbol: z.string(), size: num })),
  'GET /v5/order/realtime': bybitList(z.looseObject({ orderId: id, orderStatus: z.string() })),
  'GET /v5/order/history': bybitList(z.looseObject({ orderId: id, orderStatus: z.string() })),
  // Funding executions carry no order id.
  'GET /v5/execution/list': bybitList(
    z.looseObject({ execId: id, orderId: z.union([z.number(), z.string()]), execQty: num, execPrice: num }),
  ),
  'POST /v5/order/create': z.looseObject({ retCode: z.number(), result: z.looseObject({ orderId: id }) }),
};

/** Why a 2xx answer is not a well-formed one, or null when it is. */
export function replyProblem(venue: 'binance' | 'bybit', a: RawAnswer): string | null {
  if (a.json === undefined || a.json === null || typeof a.json !== 'object') return `not a JSON answer (${describeBody(a)})`;
  const table = venue === 'binance' ? BINANCE : BYBIT;
  const schema = table[`${a.method} ${a.path}`] ?? (venue === 'bybit' && a.path.startsWith('/v5/') ? bybitEnvelope : undefined);
  if (schema === undefined) return null;
  const r = schema.safeParse(a.json);
  if (r.success) return null;
  const issue = r.error.issues[0]!;
  const where = issue.path.length > 0 ? issue.path.join('.') : 'the answer';
  return `not a well-formed answer (${where}: ${issue.message.toLowerCase()}; got ${describeBody(a)})`;
}

function describeBody(a: RawAnswer): string {
  const body = a.body.trim();
  if (body === '') return 'an empty body';
  if (/^<(!doctype|html|\?xml)/i.test(body)) return `an HTML page, ${body.length} bytes`;
  return body.length <= 40 ? JSON.stringify(body) : `${body.length} bytes starting ${JSON.stringify(body.slice(0, 24))}`;
}
