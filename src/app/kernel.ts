// The kernel: the one place an Engine is built. Backtests, research runs, the bot, the test rigs and
// the benches all come here, so each gets the same components from its config, the clock chosen by
// mode; a caller overrides a part only where it really differs (a scripted strategy in a test rig).
import type { Config } from '../config/schema.ts';
import type { AlertSink } from '../core/alerts.ts';
import { ReplayClock, SimClock, WallClock, type Clock } from '../core/clock.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import { quoteOf } from '../core/symbols.ts';
import { TIMEFRAME_MS, type MarketInfo, type TradingMode } from '../core/types.ts';
import { Engine, type EngineOptions } from '../engine/engine.ts';
import { EngineEvents } from '../engine/engine-events.ts';
import type { ApprovalGate, ReconnectHook } from '../engine/ports.ts';
import { AlgoExecutor } from '../execution/algo.ts';
import type { MetricsTracker } from '../engine/metrics.ts';
import type { ExchangeClient } from '../exchange/types.ts';
import { Journal } from '../journal/journal.ts';
import { STATE } from '../journal/state-keys.ts';
import { CandleValidator } from '../market/validator.ts';
import { RiskEngine } from '../risk/engine.ts';
import { createStrategy } from '../strategy/registry.ts';
import { gridParamsOf } from '../grid/config.ts';
import { GridRunner } from '../grid/manager.ts';
import type { Strategy } from '../strategy/types.ts';
import { paperMarket, paperVenue } from './venues.ts';

/** Parts a caller supplies instead of the config's; anything absent is built from the config. */
export interface EngineParts {
  /** Default: the config's mode. */
  mode?: TradingMode;
  /** Default: chosen by mode (clockFor). */
  clock?: Clock;
  /** Default: in memory (fills only) for a backtest; the bot opens its file itself. */
  journal?: Journal;
  /** Default: the config's paper exchange (its books in the journal unless backtesting). */
  exchange?: ExchangeClient;
  /** Default: the config's limits, with the journal's saved state and `/risk set` values (riskFor). */
  risk?: RiskEngine;
  strategy?: (symbol: string) => Strategy;
  /** Default: the venue's market. */
  market?: (symbol: string) => MarketInfo;
  /** Default: the config's jump rule (data.jumpSigmas, data.jumpMinPct). */
  validator?: (symbol: string) => CandleValidator;
  alerts?: AlertSink;
  logger?: Logger;
  metrics?: MetricsTracker;
  approvals?: ApprovalGate;
  /** Called when the venue connection comes back (the bot reconciles then). */
  onReconnect?: ReconnectHook;
  /** Called when a trader's order goes out (a held replay must not block it). */
  onTraderOrder?: () => void;
  /** Default: the paper balance of the symbols' quote. */
  startingCash?: number;
  /** Default: daily in a backtest, else journal.equityEverySec. */
  equityEveryMs?: number;
  /** Default: every mode but backtest. */
  persistProgress?: boolean;
  allowShort?: boolean;
  leverage?: number;
  takerFee?: number;
}

export interface Kernel {
  engine: Engine;
  /** Listeners built after the engine (execution algos) subscribe here. */
  events: EngineEvents;
  clock: Clock;
  journal: Journal;
  exchange: ExchangeClient;
  risk: RiskEngine;
  /** The grid strategy's grids (strategy.name: grid). */
  grid?: GridRunner;
  /** TWAP/iceberg parents: every run but a backtest (chat orders), and any run with execution.signals on. */
  algos?: AlgoExecutor;
}

/**
 * The clock a run keeps: simulated for backtests; candle time for paper replays (moving on from the
 * last candle once the replay ends); real time otherwise — a live venue's receive windows, order
 * timeouts and reconciliation grace periods are wall-clock facts, even when replayed candles drive it.
 */
export function clockFor(mode: TradingMode, o: { replaying?: boolean; wall?: Clock } = {}): Clock {
  const wall = o.wall ?? new WallClock();
  if (mode === 'backtest') return new SimClock(0);
  return o.replaying && mode !== 'live' ? new ReplayClock(wall) : wall;
}

/** The config's risk limits with the journal's saved state; limits changed from chat (/risk set) win, each re-validated. */
export function riskFor(cfg: Config, journal: Journal, o: { log?: Logger; explain?: boolean; clock?: Clock } = {}): RiskEngine {
  const clock = o.clock;
  const risk = new RiskEngine({ ...cfg.risk }, STATE.risk.read(journal) ?? undefined, {
    ...(o.explain !== undefined ? { explain: o.explain } : {}),
    ...(clock !== undefined ? { clockKind: () => clock.kind } : {}),
  });
  for (const [k, v] of Object.entries(STATE.riskLimits.read(journal))) {
    const r = risk.setLimit(k, v ?? 'off');
    if (!r.ok) o.log?.warn({ limit: k }, `saved risk limit ignored: ${r.error}`);
  }
  return risk;
}

/** Build the engine of `cfg`, with `parts` replacing the config's components. */
export function buildEngine(cfg: Config, parts: EngineParts = {}): Kernel {
  const mode = parts.mode ?? cfg.mode;
  const backtest = mode === 'backtest';
  const clock = parts.clock ?? clockFor(mode);
  const journal = parts.journal ?? new Journal({ path: ':memory:', detail: backtest ? 'fills' : 'full' });
  const exchange = parts.exchange ?? paperVenue(cfg, clock, backtest ? undefined : journal);
  const persistProgress = parts.persistProgress ?? !backtest;
  const log = parts.logger ?? silentLogger();
  const risk = parts.risk ?? riskFor(cfg, journal, { log, clock });
  const timeframe = cfg.market.timeframe;
  const timeframeMs = TIMEFRAME_MS[timeframe];
  const jump = { sigmas: cfg.data.jumpSigmas, minPct: cfg.data.jumpMinPct };
  const events = new EngineEvents();
  const allowShort = parts.allowShort ?? (cfg.market.allowShort && cfg.market.type === 'perp');
  const marketOf = (symbol: string) => parts.market?.(symbol) ?? exchange.market(symbol);
  // The grid works resting limit orders through the engine (src/grid): its books are attached once the engine exists.
  const grid =
    cfg.strategy.name === 'grid' && !parts.strategy
      ? new GridRunner(cfg.market.symbols, (s) => gridParamsOf(cfg.strategy, marketOf(s).priceStep), {
          journal,
          clock,
          log,
          botId: cfg.botId,
          shorts: allowShort,
          marketType: cfg.market.type,
          fee: Math.max(cfg.exchange.paper.makerFee, cfg.exchange.paper.takerFee),
          ...(parts.approvals ? { asks: (notional: number) => parts.approvals!.required({ notional }) } : {}),
        })
      : undefined;
  // TWAP/iceberg parents (src/execution): chat orders, and strategy entries when execution.signals is on
  // (backtests too: they split entries as the bot would). Built first: it is the engine's entry splitter.
  const x = cfg.execution;
  const algos = !backtest || (x.signals && x.algo !== 'none') ? new AlgoExecutor(journal, clock, x, cfg.botId, log) : undefined;
  const options: EngineOptions = {
    mode,
    botId: cfg.botId,
    clock,
    journal,
    exchange,
    risk,
    logger: log,
    symbols: cfg.market.symbols.map((symbol) => ({
      symbol,
      timeframeMs,
      strategy:
        parts.strategy?.(symbol) ??
        grid?.strategy(symbol) ??
        createStrategy(cfg.strategy.name, symbol, { ...cfg.strategy.params, timeframeMs }),
      market: marketOf(symbol),
      validator: parts.validator?.(symbol) ?? new CandleValidator(symbol, timeframe, jump),
    })),
    marketType: cfg.market.type,
    allowShort,
    leverage: parts.leverage ?? cfg.market.leverage,
    takerFee: parts.takerFee ?? cfg.exchange.paper.takerFee,
    startingCash: parts.startingCash ?? cfg.exchange.paper.startingBalance[quoteOf(cfg.market.symbols)] ?? 0,
    equityEveryMs: parts.equityEveryMs ?? (backtest ? 86_400_000 : cfg.journal.equityEverySec * 1000),
    persistProgress,
    events,
    ...(parts.alerts ? { alerts: parts.alerts } : {}),
    ...(parts.metrics ? { metrics: parts.metrics } : {}),
    ...(parts.approvals ? { approvals: parts.approvals } : {}),
    ...(algos ? { entrySplitter: algos } : {}),
    ...(parts.onReconnect ? { onReconnect: parts.onReconnect } : {}),
    ...(parts.onTraderOrder ? { onTraderOrder: parts.onTraderOrder } : {}),
    ...(grid ? { strategyStops: true } : {}),
  };
  // Durable runs persist risk state (pause, halt, breaker, counters) on every change; a backtest never restarts.
  if (persistProgress)
    risk.onChange = (state) => {
      const now = clock.now();
      journal.held.write('risk', () => STATE.risk.write(journal, state, now));
    };
  const engine = new Engine(options);
  grid?.attach(engine);
  algos?.attach(engine, events);
  if (grid) {
    events.onFlattened((by) => grid.stopForFlatten(by));
    events.onOrderFilled((o) => grid.onOrderFilled(o));
  }
  return { engine, events, clock, journal, exchange, risk, ...(grid ? { grid } : {}), ...(algos ? { algos } : {}) };
}

export { paperMarket };
