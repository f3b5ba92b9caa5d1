import type { MarketType, OrderRequest, PositionSide, Signal, RiskVerdict } from '../core/types.ts';

/** How entries are sized before the limits apply. */
export type SizingMode =
  | 'risk' // qty = equity x riskPerTrade / stop distance (the default)
  | 'all-in' // spend all free cash (quote-sized market buy); the backtest reference setup
  | 'fixed' // a fixed quote amount per trade
  | 'volatility'; // riskPerTrade of equity over volatilityMultiple typical 1-bar moves

export interface RiskLimits {
  sizing: SizingMode;
  /** Quote amount per trade in `fixed` sizing. */
  fixedQuote: number;
  /** Max loss per trade as a fraction of equity: 0.01..0.03, default 0.02. */
  riskPerTrade: number;
  /** Default stop distance (fraction of price) when a signal has no stop; null = no stop. */
  stopLossPct: number | null;
  /** Optional take-profit distance (fraction of price). */
  takeProfitPct: number | null;
  /** Daily drawdown (fraction of the day's starting equity) that halts entries until the next UTC day. */
  maxDailyDrawdown: number;
  /** Max fraction of equity tied up in positions (spot notional, perp margin). */
  maxCapitalInUse: number;
  maxOpenPositions: number;
  /** Minimum seconds between two entries. */
  minTradeIntervalSec: number;
  /** After a trade on a symbol closes at a loss, no new entry on that symbol for this long (0 = off). */
  cooldownAfterLossSec: number;
  maxTradesPer24h: number;
  /** Refuse entries when recent realized volatility (stdev of 1-bar returns, as a fraction) exceeds this; null = off. */
  maxVolatility: number | null;
  /** Bars of returns used for the volatility estimate. */
  volatilityWindow: number;
  maxLeverage: number;
  /** Trip the breaker after this many consecutive losing trades (0 = never). */
  maxConsecutiveLosses: number;
  /** Trip the breaker after this many consecutive order/exchange errors (0 = never). */
  maxConsecutiveErrors: number;
  /** Volatility sizing: how many typical 1-bar moves (stdev of returns) the risk budget covers. */
  volatilityMultiple: number;
  /** Trailing stop distance (fraction of the best price since entry); null = off. Per trade: /trail. */
  trailingStopPct: number | null;
  /** The trail starts once the price has moved this far in the position's favour (fraction of entry). */
  trailingActivationPct: number;
  /** Close a position at market after this many minutes (engine clock); null = off. */
  maxHoldMinutes: number | null;
  /** Drawdown from the equity peak that trips the kill switch (0 = off). */
  maxDrawdown: number;
  /** What the kill switch does: halt entries, or halt and close every position. */
  onMaxDrawdown: DrawdownAction;
  /** Model signals: scale the entry size by the signal's confidence (see src/risk/sizing.ts). */
  confidenceSizing: ConfidenceSizing;
  /** The scale at confidence 0: scale = floor + (1 − floor) × confidence. */
  confidenceFloor: number;
  /** Pyramiding (config `pyramiding.maxAdds`): adds per trade to an open position; 0 = off. */
  pyramidMaxAdds: number;
  /** An add needs the price this far in the position's favour since the last add (fraction). */
  pyramidMinStepPct: number;
  /** A strategy's add is the previous add (or the entry) × this. */
  pyramidSizeFactor: number;
}

export type DrawdownAction = 'halt' | 'flatten';

export type ConfidenceSizing = 'off' | 'linear';

export const DEFAULT_LIMITS: RiskLimits = {
  sizing: 'risk',
  fixedQuote: 100,
  riskPerTrade: 0.02,
  stopLossPct: 0.02,
  takeProfitPct: null,
  maxDailyDrawdown: 0.05,
  maxCapitalInUse: 0.5,
  maxOpenPositions: 3,
  minTradeIntervalSec: 60,
  cooldownAfterLossSec: 0,
  maxTradesPer24h: 50,
  maxVolatility: null,
  volatilityWindow: 60,
  maxLeverage: 3,
  maxConsecutiveLosses: 5,
  maxConsecutiveErrors: 3,
  volatilityMultiple: 2,
  trailingStopPct: null,
  trailingActivationPct: 0,
  maxHoldMinutes: null,
  maxDrawdown: 0,
  onMaxDrawdown: 'halt',
  confidenceSizing: 'off',
  confidenceFloor: 0,
  pyramidMaxAdds: 0,
  pyramidMinStepPct: 0.01,
  pyramidSizeFactor: 0.5,
};

/** Why new entries are blocked, if they are. Exits are never blocked. */
export interface RiskState {
  paused: boolean;
  pausedBy?: string;
  pausedAt?: number;
  /** Daily drawdown halt: until the next UTC day. */
  halted: boolean;
  haltedUntil?: number;
  haltReason?: string;
  breakerTripped: boolean;
  breakerReason?: string;
  breakerTrippedAt?: number;
  consecutiveLosses: number;
  consecutiveErrors: number;
  dayStart: number;
  dayStartEquity: number;
  /** Entry timestamps in the last 24 h (for frequency limits). */
  recentEntries: number[];
  /** When a trade on each symbol last closed at a loss (engine clock): cooldownAfterLossSec counts from it. */
  lastLossAt: Record<string, number>;
  /** Symbols whose new entries are paused (/pause BTC/USDT): who paused each, and when (engine clock). */
  pausedSymbols: Record<string, SymbolPause>;
}

export interface SymbolPause {
  by: string;
  at: number;
}

/** A change in what the risk engine allows: the trading engine turns it into an alert. */
export interface RiskEvent {
  kind: 'halt' | 'halt_lifted' | 'breaker';
  /** What happened, as an alert title ("Circuit breaker tripped"); the message doesn't repeat it. */
  title: string;
  /** Plain words for the trader. */
  message: string;
  /** End of a daily halt (Unix ms, next UTC midnight). */
  until?: number;
}

/** Everything the risk engine looks at to judge one intent. */
export interface RiskContext {
  now: number;
  equity: number;
  /** Free quote cash (spot) / available margin (perp). */
  freeCash: number;
  /** Capital already in use: spot notional at mark, or perp margin; working entry orders included. */
  capitalInUse: number;
  /** Of capitalInUse, what working entry orders (and active TWAP/iceberg parents' slices still to send) will tie up once filled. */
  pendingCapital?: number;
  /** Open positions, and symbols a working entry order would open. */
  openPositions: number;
  marketType: MarketType;
  /** Position on this symbol, if any (entry, stop and adds so far: for adds, src/risk/pyramid.ts). */
  position: { side: PositionSide; qty: number; entryPrice?: number; stopLoss?: number; adds?: AddHistory } | null;
  price: number;
  qtyStep: number;
  minQty: number;
  minNotional: number;
  takerFee: number;
}

export interface RiskIntent {
  signal: Signal;
  request: OrderRequest;
  /** true for orders that only reduce/close exposure: always allowed through pauses and halts. */
  reducing: boolean;
  /** A later child of a TWAP/iceberg parent: the parent counted as the entry (see src/execution/algo.ts). */
  continuation?: boolean;
}

export interface RiskDecision extends RiskVerdict {
  /** The request after sizing/resizing; absent on reject. */
  request?: OrderRequest;
  /** An add to an open position: the stop for the WHOLE position after it (src/risk/pyramid.ts). */
  stopLoss?: number;
}

/** A trade's adds so far: how many, and the last one's (or the entry's) price and size. */
export interface AddHistory {
  adds: number;
  lastPrice: number;
  lastQty: number;
}
