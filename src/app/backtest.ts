import { performance } from 'node:perf_hooks';
import { SimClock } from '../core/clock.ts';
import { TIMEFRAME_MS, type Candle, type MarketType, type Timeframe } from '../core/types.ts';
import { defaultMarket, PaperExchange } from '../exchange/paper/index.ts';
import { Journal, type FillRow, type JournalDetail } from '../journal/journal.ts';
import { CandleValidator } from '../market/validator.ts';
import { RiskEngine } from '../risk/engine.ts';
import type { RiskLimits } from '../risk/types.ts';
import { DEFAULT_LIMITS } from '../risk/types.ts';
import { createStrategy } from '../strategy/registry.ts';
import type { Strategy } from '../strategy/types.ts';
import { parseConfig } from '../config/load.ts';
import { buildEngine } from './kernel.ts';
import { MetricsTracker, type Metrics } from '../engine/metrics.ts';
import type { DataIssues } from '../market/data-issues.ts';

/**
 * Limits of the backtest reference setup: all-in, long-only, no stop, nothing that would stop a
 * trade a plain crossover backtest takes. Every intent still goes through the risk engine.
 */
export const REFERENCE_LIMITS: RiskLimits = {
  ...DEFAULT_LIMITS,
  sizing: 'all-in',
  stopLossPct: null,
  takeProfitPct: null,
  maxDailyDrawdown: 1,
  maxCapitalInUse: 1,
  maxOpenPositions: 1,
  minTradeIntervalSec: 0,
  maxTradesPer24h: 1_000_000_000,
  maxVolatility: null,
  maxLeverage: 1,
  maxConsecutiveLosses: 0,
  maxConsecutiveErrors: 0,
};

export interface BacktestOptions {
  candles?: readonly Candle[];
  /** Instead of `candles`: batches read as the run goes (a CSV streamed: memory stays flat). */
  batches?: Iterable<readonly Candle[]>;
  symbol: string;
  timeframe: Timeframe;
  strategy: string;
  params: Record<string, number>;
  cash: number;
  fee: number;
  slippageBps?: number;
  qtyStep: number;
  priceStep?: number;
  minNotional?: number;
  marketType?: MarketType;
  leverage?: number;
  limits?: RiskLimits;
  /** Journal file; default in memory. */
  journalPath?: string;
  journalDetail?: JournalDetail;
  /** A strategy built by the caller (model strategies: src/models/backtest.ts) instead of `strategy` by name. */
  strategyImpl?: Strategy;
}

export interface BacktestResult {
  bars: number;
  rejected_bars: number;
  fills: number;
  final_equity: number;
  metrics: Metrics;
  /** Gaps and other data issues the validator found (rejected candles by kind among them). */
  data_issues: DataIssues;
  elapsed_ms: number;
  bars_per_sec: number;
  fillRows: FillRow[];
}

/** Run the engine over candles at full speed on the simulated clock: the same code as paper/live. */
export function runBacktest(o: BacktestOptions): BacktestResult {
  const { engine, journal, clock, metrics, tfMs, batches } = openBacktest(o);
  const symbol = o.symbol;
  let total = 0;
  const t0 = performance.now();
  journal.tx(() => {
    for (let batch = batches.next(); !batch.done; batch = batches.next()) {
      const candles = batch.value;
      total += candles.length;
      for (let i = 0; i < candles.length; i++) {
        const c = candles[i]!;
        clock.set(c.ts + tfMs);
        engine.onCandle(symbol, c);
      }
    }
  });
  return closeBacktest(o, { engine, journal, metrics }, performance.now() - t0, total);
}

/**
 * The same run for a strategy with async per-candle work (a policy reading its position): each candle's
 * prepare is awaited before the engine sees it, as the bot's feed does; one transaction per candle.
 */
export async function runBacktestPerCandle(o: BacktestOptions): Promise<BacktestResult> {
  const { engine, journal, clock, metrics, tfMs, batches } = openBacktest(o);
  let total = 0;
  const t0 = performance.now();
  try {
    for (let batch = batches.next(); !batch.done; batch = batches.next()) {
      total += batch.value.length;
      for (const c of batch.value) {
        clock.set(c.ts + tfMs);
        const prepared = engine.prepareCandle(o.symbol, c);
        if (prepared) await prepared;
        engine.onCandle(o.symbol, c);
      }
    }
  } catch (e) {
    journal.close();
    throw e;
  }
  return closeBacktest(o, { engine, journal, metrics }, performance.now() - t0, total);
}

/** The first batch is read here (the clock starts at its first candle) and handed back ahead of the rest. */
function openBacktest(o: BacktestOptions) {
  const tfMs = TIMEFRAME_MS[o.timeframe];
  const marketType = o.marketType ?? 'spot';
  const source = (o.batches ?? [o.candles ?? []])[Symbol.iterator]();
  const first = source.next();
  const clock = new SimClock(!first.done && first.value[0] ? first.value[0].ts : 0);
  const batches = (function* () {
    if (first.done) return;
    yield first.value;
    for (let b = source.next(); !b.done; b = source.next()) yield b.value;
  })();
  const journal = new Journal({ path: o.journalPath ?? ':memory:', detail: o.journalDetail ?? 'fills' });
  const market = {
    ...defaultMarket(o.symbol, marketType),
    qtyStep: o.qtyStep,
    priceStep: o.priceStep ?? 1e-8,
    minQty: o.qtyStep,
    minNotional: o.minNotional ?? 0,
  };
  const exchange = new PaperExchange({
    clock,
    marketType,
    markets: [market],
    startingBalances: { [market.quote]: o.cash },
    makerFee: o.fee,
    takerFee: o.fee,
    slippageBps: o.slippageBps ?? 0,
  });
  const metrics = new MetricsTracker(o.cash);
  const config = parseConfig({ mode: 'backtest', botId: 'bt', market: { symbols: [o.symbol], timeframe: o.timeframe, type: marketType } });
  const { engine } = buildEngine(config, {
    clock,
    journal,
    exchange,
    risk: new RiskEngine(o.limits ?? REFERENCE_LIMITS, undefined, { explain: (o.journalDetail ?? 'fills') === 'full' }),
    strategy: (symbol) => o.strategyImpl ?? createStrategy(o.strategy, symbol, { ...o.params, timeframeMs: tfMs }),
    market: () => market,
    // The reference setup checks candles with the validator's own rule, whatever the config's.
    validator: (symbol) => new CandleValidator(symbol, o.timeframe),
    allowShort: false,
    leverage: o.leverage ?? 1,
    takerFee: o.fee,
    startingCash: o.cash,
    equityEveryMs: 86_400_000,
    persistProgress: false,
    metrics,
  });
  return { engine, journal, clock, metrics, tfMs, batches };
}

function closeBacktest(
  o: BacktestOptions,
  { engine, journal, metrics }: Pick<ReturnType<typeof openBacktest>, 'engine' | 'journal' | 'metrics'>,
  elapsed: number,
  total: number,
): BacktestResult {
  const counts = engine.candleCounts(o.symbol);
  const finalEquity = engine.portfolio.equity();
  const fillRows = journal.recordedFills();
  const result: BacktestResult = {
    bars: counts.accepted,
    rejected_bars: counts.rejected,
    fills: fillRows.length,
    final_equity: finalEquity,
    metrics: metrics.result(finalEquity),
    data_issues: engine.dataIssues(o.symbol),
    elapsed_ms: elapsed,
    bars_per_sec: elapsed > 0 ? total / (elapsed / 1000) : 0,
    fillRows,
  };
  journal.close();
  return result;
}
