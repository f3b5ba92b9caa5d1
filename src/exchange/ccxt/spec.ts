/*
 * What a venue's quirks look like to the ccxt adapter: one VenueSpec per venue (binance.ts, bybit.ts),
 * its data fields a capability table in the manner of Freqtrade's `_ft_has`, its functions the
 * mappings that cannot be data. The adapter holds the rules that are the same everywhere.
 */
import type {
  Balances as CcxtBalances,
  Exchange,
  FundingHistory as CcxtFunding,
  Order as CcxtOrder,
  Position as CcxtPosition,
  Trade as CcxtTrade,
} from 'ccxt';
import type { Balance, MarketType, Order, OrderStatus, OrderType } from '../../core/types.ts';
import type { NativeTrailing } from '../types.ts';
import type { LiveVenueId } from '../venues.ts';
import type { ReplySchemas } from './replies.ts';
import type { Backoff } from './request-gate.ts';

export type CcxtModule = (typeof import('ccxt'))['default'];
export type Params = Record<string, unknown>;

/** What a failure means for us. */
/** `would_trigger`: a stop refused because the price has already passed its trigger. */
export type Failure = 'network' | 'rate' | 'clock' | 'auth' | 'not_found' | 'duplicate' | 'would_trigger' | 'refused';

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
  readonly id: LiveVenueId;
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
  /** Per market type: the venue's own trailing stop (stop_market orders with trailPct), or null (the bot moves a stop). */
  readonly nativeTrailing: Record<MarketType, NativeTrailing | null>;
  /** Per market type: the venue keeps stop orders apart (Binance USDⓈ-M: the algo service; Bybit spot: StopOrder). */
  readonly conditionalStops: Record<MarketType, boolean>;
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
  /** What a well-formed 2xx answer of each endpoint the adapter reads looks like (replies.ts). */
  readonly replies: ReplySchemas;
  /** A rate-limit answer: how long to wait and what to call it; undefined when `a` is none. `now` is our clock (≈ the venue's). */
  backoff(a: AnswerText, now: number): Backoff | undefined;
}

export const toStr = (x: unknown): string | undefined => (x === undefined || x === null || x === '' ? undefined : String(x));

/** Orders the venue keeps apart from regular ones (see VenueSpec.conditionalStops). */
export const isConditional = (spec: VenueSpec, o: { type: OrderType }, type: MarketType): boolean =>
  spec.conditionalStops[type] && (o.type === 'stop_market' || o.type === 'stop_limit');
