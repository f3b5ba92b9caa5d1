// Core vocabulary shared by every part of the engine. Plain data only: no I/O here.

export const TIMEFRAMES = ['1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '12h', '1d'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];

const MINUTE = 60_000;
export const TIMEFRAME_MS: Readonly<Record<Timeframe, number>> = {
  '1m': MINUTE,
  '3m': 3 * MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': 60 * MINUTE,
  '2h': 120 * MINUTE,
  '4h': 240 * MINUTE,
  '6h': 360 * MINUTE,
  '12h': 720 * MINUTE,
  '1d': 1440 * MINUTE,
};

/** One OHLCV bar. `ts` is the bar's open time in Unix ms (UTC); the bar closes at ts + timeframe. */
export interface Candle {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export type Side = 'buy' | 'sell';
export type PositionSide = 'long' | 'short';

/** The stop-loss / take-profit an order promises its position (either may be absent). */
export type Bracket = { stopLoss?: number; takeProfit?: number };

/** The levels `x` (an order, a position) carries, and only those. */
export const bracketOf = (x: Bracket): Bracket => ({
  ...(x.stopLoss !== undefined ? { stopLoss: x.stopLoss } : {}),
  ...(x.takeProfit !== undefined ? { takeProfit: x.takeProfit } : {}),
});
/** spot: long-only, pays full notional. perp: USDT-margined perpetual, long/short with leverage. */
export type MarketType = 'spot' | 'perp';

export type OrderType = 'market' | 'limit' | 'stop_market' | 'stop_limit';
/** GTC rests until filled or cancelled; IOC fills what it can now and cancels the rest; PO (post-only) is rejected if it would take. */
export type TimeInForce = 'GTC' | 'IOC' | 'PO';

export type OrderStatus =
  | 'new' // journaled intent, not yet handed to the exchange
  | 'submitted' // handed to the exchange, no answer yet
  | 'open' // acknowledged and resting
  | 'partially_filled'
  | 'filled'
  | 'cancelled'
  | 'rejected'
  | 'expired'
  | 'unknown'; // outcome not known yet (timeout, crash): resolved by querying the venue

export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['filled', 'cancelled', 'rejected', 'expired']);

/** What the engine asks an exchange to do. Either `qty` (base) or `quoteQty` (spend, market buys only). */
export interface OrderRequest {
  symbol: string;
  side: Side;
  type: OrderType;
  qty?: number;
  quoteQty?: number;
  /** Limit price (limit, stop_limit). */
  price?: number;
  /** Trigger price (stop_market, stop_limit). */
  stopPrice?: number;
  /** A venue-native trailing stop (stop_market only): trails this fraction behind the best price; stopPrice is where it started. */
  trailPct?: number;
  tif: TimeInForce;
  reduceOnly: boolean;
  /** Perps only. */
  leverage?: number;
}

export interface Order extends OrderRequest {
  clientOrderId: string;
  exchangeOrderId?: string;
  status: OrderStatus;
  filledQty: number;
  /** Volume-weighted average fill price, 0 until the first fill. */
  avgPrice: number;
  fee: number;
  createdAt: number;
  updatedAt: number;
  /** Why it was rejected/cancelled/expired, in plain words. */
  reason?: string;
  /** Refused because the price had already passed its stop trigger (OrderUpdate.triggerPassed). */
  triggerPassed?: boolean;
  decisionId?: number;
  /** Why the engine placed it. */
  purpose?: OrderPurpose;
  /** Entry bracket: the engine places these protective orders once the entry fills. */
  stopLoss?: number;
  takeProfit?: number;
}

/** Why the engine placed an order: `exit` a strategy's exit signal, `max_hold` the max holding time. */
/** `stop_exit`: a market close because the stop-loss is through (it fired for part, or the venue refused it as passed). */
/** `tp_exit`: a market close because a candle reached the take-profit the bot watches (spot with a stop-loss). */
export type OrderPurpose =
  'entry' | 'exit' | 'max_hold' | 'stop_loss' | 'stop_exit' | 'take_profit' | 'tp_exit' | 'manual' | 'flatten' | 'grid';

/** Why a trade closed (positions.exit_reason), and how /trades and /performance name it. */
export const EXIT_REASONS = {
  signal: 'signal',
  stop_loss: 'stop-loss',
  trailing_stop: 'trailing stop',
  take_profit: 'take-profit',
  max_hold: 'max hold',
  manual: 'manual',
  flatten: 'flatten',
  grid: 'grid',
  liquidation: 'liquidation',
  external: 'external',
  reconciliation: 'reconciliation',
} as const;
export type ExitReason = keyof typeof EXIT_REASONS;
export const EXIT_REASON_IDS = Object.keys(EXIT_REASONS) as [ExitReason, ...ExitReason[]];

export type Liquidity = 'maker' | 'taker';

export interface Fill {
  /** Unique per venue; the journal records a trade id once, however often it is reported. */
  tradeId: string;
  clientOrderId: string;
  exchangeOrderId?: string;
  symbol: string;
  side: Side;
  price: number;
  qty: number;
  /** Fee in the quote currency. */
  fee: number;
  feeCurrency: string;
  liquidity: Liquidity;
  ts: number;
}

export interface Position {
  symbol: string;
  side: PositionSide;
  qty: number;
  entryPrice: number;
  leverage: number;
  /** Perps: price at which isolated margin is exhausted. */
  liquidationPrice?: number;
  /** Isolated margin posted (perps); cost basis for spot. */
  margin: number;
  stopLoss?: number;
  takeProfit?: number;
  realizedPnl: number;
  fees: number;
  openedAt: number;
  markPrice: number;
  unrealizedPnl: number;
}

export type SignalAction = 'enter_long' | 'exit_long' | 'enter_short' | 'exit_short';

export interface Signal {
  symbol: string;
  action: SignalAction;
  /** Candle close time the signal was computed on. */
  ts: number;
  /** Close price of that candle. */
  price: number;
  strategy: string;
  reason: string;
  /** 0..1 when the source has one (model ensembles). */
  confidence?: number;
  stopLoss?: number;
  takeProfit?: number;
  /** Exits: the share of the position to close, (0, 1] (a scale-out); absent = all of it. */
  fraction?: number;
  /** Optional features/model outputs to journal alongside the decision. */
  features?: Record<string, number>;
  /** Model strategies: each member model's output on this candle. */
  votes?: ModelVote[];
}

/** One model's output on one candle. */
export interface ModelVote {
  model: string;
  version: number;
  action: 'sell' | 'hold' | 'buy';
  confidence: number;
  weight: number;
  /** Probabilities over [sell, hold, buy]. */
  dist?: number[];
  /** Regressors / policy value heads. */
  value?: number;
  /** Why this member did not vote (failed run, NaN output, stale position): then it was not counted. */
  error?: string;
}

export const isEntry = (a: SignalAction): boolean => a === 'enter_long' || a === 'enter_short';

export type RiskAction = 'accept' | 'resize' | 'reject';

export interface RiskVerdict {
  action: RiskAction;
  /** Final size (base) when accepted or resized. */
  qty?: number;
  /** Final spend (quote) when the order is sized by quote. */
  quoteQty?: number;
  /** Name of the deciding rule (e.g. 'max_capital_in_use'), or 'ok'. */
  rule: string;
  reason: string;
}

export interface Balance {
  asset: string;
  free: number;
  locked: number;
}

export type TradingMode = 'backtest' | 'paper' | 'live';

/** When the engine's trades wait for a person's Approve / Reject. */
export const APPROVAL_MODES = ['off', 'always', 'above'] as const;
export type ApprovalMode = (typeof APPROVAL_MODES)[number];

export type TransportName = 'console' | 'telegram' | 'discord';

/** A chat message a transport can update later (a proposal or confirmation prompt). */
export interface MessageRef {
  transport: TransportName;
  chatId: string;
  messageId: string;
}
export type VenueEnvironment = 'paper' | 'testnet' | 'live';

export interface MarketInfo {
  symbol: string;
  base: string;
  quote: string;
  type: MarketType;
  /** Smallest quantity increment. */
  qtyStep: number;
  /** Smallest price increment. */
  priceStep: number;
  minQty: number;
  minNotional: number;
  maxLeverage: number;
}
