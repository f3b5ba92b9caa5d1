// The engine's public shapes: what a symbol is set up with, the approval gate, the options the kernel
// passes, the status view.
import type { Logger } from '../core/logger.ts';
import type { AlertSink } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import type { MarketInfo, MarketType, Order, TradingMode } from '../core/types.ts';
import type { ExchangeClient } from '../exchange/types.ts';
import type { NumberKey } from '../journal/state-keys.ts';
import type { SymbolPause } from '../risk/types.ts';
import type { Strategy, StrategyContext } from '../strategy/types.ts';
import type { DataIssues } from '../market/data-issues.ts';
import type { EngineEvents } from './engine-events.ts';
import type { MetricsTracker } from './metrics.ts';
import type { ApprovalGate, EngineRisk, EntrySplitter, ReconnectHook, TradingJournal, Validator } from './ports.ts';
import type { BookPosition } from './portfolio.ts';
import type { ProtectionGap } from './protection.ts';

export interface SymbolSetup {
  symbol: string;
  timeframeMs: number;
  strategy: Strategy;
  market: MarketInfo;
  validator: Validator;
}

export type { ApprovalGate, Proposal } from './ports.ts';

export interface EngineOptions {
  mode: TradingMode;
  botId: string;
  clock: Clock;
  journal: TradingJournal;
  exchange: ExchangeClient;
  risk: EngineRisk;
  alerts?: AlertSink;
  logger: Logger;
  symbols: SymbolSetup[];
  marketType: MarketType;
  allowShort: boolean;
  leverage: number;
  takerFee: number;
  /** Cash the account started with (paper) — the journal's fill cash flows are added to it. */
  startingCash: number;
  /** Equity snapshot period (simulated or wall time); a snapshot is also taken at each UTC day change. */
  equityEveryMs: number;
  /** Persist the last processed candle per symbol, so a restart resumes instead of trading old candles again. */
  persistProgress: boolean;
  metrics?: MetricsTracker;
  approvals?: ApprovalGate;
  entrySplitter?: EntrySplitter;
  /** Called when the venue connection comes back (the bot reconciles then). */
  onReconnect?: ReconnectHook;
  /** Called when a trader's order (manual, close, flatten) goes out: a held replay must not block it. */
  onTraderOrder?: () => void;
  /** Listeners built after the engine (execution algos) subscribe here; the kernel owns it. */
  events?: EngineEvents;
  /** The strategy keeps its own stop-out (grid): positions get no default stop-loss/take-profit orders. */
  strategyStops?: boolean;
}

export interface SymbolState extends SymbolSetup {
  ctx: { symbol: string; position: StrategyContext['position']; pending: boolean; allowShort: boolean; unrealizedPnlPct?: number };
  /** Candles at or before this ts were processed before a restart: they only warm the strategy up. */
  resumeTs: number;
  lastClose: number;
  lastCandleTs: number;
  /** Live entry/exit orders (not protective ones). */
  working: number;
  accepted: number;
  rejected: number;
  /** What the validator said about the candles since start (gaps, rejects…), for a backtest's output. */
  issues: DataIssues;
  /** runtime_state key of the last processed candle. */
  progressKey: NumberKey;
}

export interface EngineStatus {
  mode: TradingMode;
  venue: string;
  environment: string;
  marketType: MarketType;
  equity: number;
  cash: number;
  freeCash: number;
  unrealizedPnl: number;
  todayPnl: number;
  dayStartEquity: number;
  positions: BookPosition[];
  liveOrders: Order[];
  blocked: string | null;
  /** Symbols paused on their own (/pause ETH/USDT): who and when (engine clock). */
  pausedSymbols: Record<string, SymbolPause>;
  paused: boolean;
  /** The daily drawdown halt is on now (one whose end has passed is over, even before the next candle). */
  halted: boolean;
  breaker: boolean;
  lastCandle: Record<string, { ts: number; close: number }>;
  now: number;
  /** Open positions without the stop-loss they were promised. */
  unprotected: ProtectionGap[];
}

/**
 * The trading engine: one code path for backtest, paper and live. Candles in, orders out, events
 * back. Everything it decides is journaled before it acts; everything it knows is rebuilt from the
 * journal at start.
 *
 * Per closed candle: validate → venue matches working orders (paper) → mark to market → risk
 * bookkeeping (daily drawdown) → strategy → risk verdict → (approval) → journal intent → submit.
 */
