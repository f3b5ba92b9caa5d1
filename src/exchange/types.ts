import type { AlertInput } from '../core/alerts.ts';
import type { Balance, Candle, Fill, MarketInfo, MarketType, Order, OrderStatus, PositionSide, VenueEnvironment } from '../core/types.ts';

/** A status change reported by the venue for one of our orders. */
export interface OrderUpdate {
  clientOrderId: string;
  exchangeOrderId?: string;
  status: OrderStatus;
  /** Cumulative filled quantity as the venue sees it, when known. */
  filledQty?: number;
  reason?: string;
  /** A stop the venue refused because the price is already through its trigger (it would fire at once). */
  triggerPassed?: boolean;
  ts: number;
}

/**
 * The venue's own trailing stop for this market type: a reduce-only order it trails itself
 * (Binance USDⓈ-M TRAILING_STOP_MARKET) or an attribute of the position (Bybit linear trailingStop,
 * a price distance), with the trail distances it accepts (fractions).
 */
export interface NativeTrailing {
  kind: 'order' | 'position';
  /** Who trails, for replies ("Binance USDⓈ-M perps"). */
  label: string;
  minPct: number;
  maxPct: number;
}

/** An order as the venue reports it (for reconciliation and /orders). */
export interface VenueOrder {
  clientOrderId: string;
  exchangeOrderId: string;
  symbol: string;
  side: 'buy' | 'sell';
  type: Order['type'];
  status: OrderStatus;
  qty: number;
  filledQty: number;
  price?: number;
  stopPrice?: number;
  reduceOnly: boolean;
  ts: number;
}

export interface VenuePosition {
  symbol: string;
  side: PositionSide;
  qty: number;
  entryPrice: number;
  leverage: number;
  liquidationPrice?: number;
  unrealizedPnl?: number;
}

/** A funding payment on a perpetual position (positive: received). */
export interface FundingPayment {
  /** Unique per venue (its id, or symbol+time when it has none). */
  paymentId: string;
  symbol: string;
  amount: number;
  rate?: number;
  ts: number;
}

/** Events flow from the venue to the engine through this listener; commands flow the other way. */
export interface ExchangeListener {
  onOrderUpdate(update: OrderUpdate): void;
  onFill(fill: Fill): void;
  /** The connection (or the order stream) went down or came back: the engine reconciles on `up`. */
  onConnection?(up: boolean, detail: string): void;
  onFunding?(payment: FundingPayment): void;
  /** Something the trader must hear about (a final exchange error, an order stuck unknown…). */
  onAlert?(alert: AlertInput): void;
}

/** What /status and /health show about the venue connection. */
export interface VenueStatus {
  up: boolean;
  detail: string;
  since: number;
}

/**
 * What the engine needs from a venue. The paper exchange and the ccxt adapter both implement it,
 * so backtest, paper and live run the same engine code.
 *
 * `submit` and `cancel` never throw and never block: results arrive through the listener
 * (synchronously for the paper exchange, later for a real venue).
 */
export interface ExchangeClient {
  readonly name: string;
  readonly environment: VenueEnvironment;
  readonly marketType: MarketType;
  /** The venue trails stops itself (null/absent: the bot moves a stop order). */
  readonly nativeTrailing?: NativeTrailing | null;
  /**
   * The venue keeps its books in the journal's own database (the paper exchange with a store): an
   * order handed to it commits atomically with the journaled intent, so the engine may hand it over
   * inside the candle's transaction. Remote venues only get orders after the intent has committed.
   */
  readonly journalBacked?: boolean;
  setListener(listener: ExchangeListener): void;
  connect(): Promise<void>;
  close(): Promise<void>;
  market(symbol: string): MarketInfo;
  submit(order: Order): void;
  cancel(order: Order): void;
  fetchBalances(): Promise<Balance[]>;
  fetchOpenOrders(symbol?: string): Promise<VenueOrder[]>;
  /** Look one of our orders up by client order id; null when the venue never saw it. */
  fetchOrder(clientOrderId: string, symbol: string): Promise<VenueOrder | null>;
  /** Our fills at or after `sinceTs`, oldest first. */
  fetchFills(symbol: string, sinceTs: number): Promise<Fill[]>;
  fetchPositions(): Promise<VenuePosition[]>;
  /** Orders the journal holds as live from before a restart: follow them (their fills are theirs). */
  follow?(orders: Order[]): void;
  /** Connection state for /status (the paper venue is always up). */
  status?(): VenueStatus;
  /** Perps: current funding rate and open interest, for /status. */
  fetchFundingRate?(symbol: string): Promise<{ rate: number; nextTs?: number } | null>;
  fetchOpenInterest?(symbol: string): Promise<number | null>;
  /** Funding payments at or after `sinceTs` (perps). */
  fetchFunding?(symbol: string, sinceTs: number): Promise<FundingPayment[]>;
}

/** A venue simulated on candles (the paper exchange): the engine feeds it each closed candle first. */
export interface SimulatedVenue {
  processCandle(symbol: string, candle: Candle): void;
  /** The data for `symbol` has ended (a finished replay): the venue may settle market orders at the last price (`last`: the engine's). */
  freeze?(symbol: string, last?: { ts: number; close: number }): void;
}

export const isSimulatedVenue = (x: unknown): x is SimulatedVenue => typeof (x as SimulatedVenue | null)?.processCandle === 'function';
