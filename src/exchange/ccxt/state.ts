// The adapter's tuning, its options, and what it keeps per order.
import type { Order as CcxtOrder, Trade as CcxtTrade } from 'ccxt';
import type { Clock } from '../../core/clock.ts';
import { plain } from '../../core/format.ts';
import type { Logger } from '../../core/logger.ts';
import type { MarketType, Order, OrderStatus } from '../../core/types.ts';
import type { LiveVenueId } from '../venues.ts';

export interface CcxtExchangeOptions {
  venue: LiveVenueId;
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

// ---- tuning ---------------------------------------------------------------------------------------

/** See the unknown-order rule at the top. */
export const RESOLVE_MARGIN_MS = 5_000;
export const RESOLVE_ATTEMPTS = 8;
export const RESOLVE_BASE_MS = 250;
export const RESOLVE_MAX_MS = 8_000;
export const READ_ATTEMPTS = 4;
export const READ_BASE_MS = 250;
export const READ_MAX_MS = 5_000;
export const CANCEL_ATTEMPTS = 3;
/** Entries waiting behind a rate limit: at most this many; one older than this is stale and never sent. */
export const MAX_QUEUED_ENTRIES = 10;
export const STALE_ENTRY_MS = 30_000;
/** Polls a terminal update may wait for its trades to show up. */
export const MAX_DEFERRALS = 3;
export const FUNDING_POLL_MS = 60_000;
export const POLL_LOOKBACK_MS = 10 * 60_000;
export const TICKER_TTL_MS = 15_000;
export const WS_BACKOFF_MS = 1_000;
export const WS_BACKOFF_MAX_MS = 30_000;
/** After a 429/418: every request is this many times slower for this long after the wait ends. */
export const SLOWDOWN_FACTOR = 4;
export const SLOWDOWN_MS = 60_000;
/** Bybit trade polls re-read this much before the last seen trade (its executions may show up late; dedup absorbs the overlap). */
export const TRADE_OVERLAP_MS = 60_000;
export const SEEN_TRADES_MAX = 20_000;
/** Finished orders kept in memory (late duplicates of their events are recognised meanwhile). */
export const TRACKED_MAX = 2_000;
export const EPS = 1e-9;

export type Phase = 'pending' | 'sending' | 'live' | 'resolving' | 'stuck' | 'done';

export interface Tracked {
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
export interface Seen {
  id: string;
  coid: string | undefined;
  status: OrderStatus;
  qty: number;
  filled: number;
  raw: CcxtOrder;
  actualOrderId?: string;
  trades: CcxtTrade[];
}

export const fmtNum = plain;
export const hhmmss = (t: number): string => new Date(t).toISOString().slice(11, 19);
export const fmtSec = (ms: number): string => `${Number((ms / 1000).toFixed(ms < 10_000 ? 2 : 0))} s`;
