// THE seam of the research loop: every backtest of a config (skipper backtest --config, sweeps,
// workers, stress, select) runs through runConfigBacktest. It builds the engine from the config
// itself for now; the kernel builder of issue 9 (src/app/kernel.ts, buildEngine) replaces the
// construction part below — keep everything else here unchanged.
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/schema.ts';
import { SimClock } from '../core/clock.ts';
import { quoteOf } from '../core/symbols.ts';
import { TIMEFRAME_MS, type Candle, type ExitReason, type Timeframe } from '../core/types.ts';
import { buildEngine } from '../app/kernel.ts';
import type { Engine } from '../engine/engine.ts';
import { paperVenue } from '../app/venues.ts';
import { calmarOf, reportedCagr, spanDays } from '../engine/cagr-span.ts';
import type { Metrics } from '../engine/metrics.ts';
import { Journal } from '../journal/journal.ts';
import { mergeDataIssues, type DataIssues } from '../market/data-issues.ts';
import { CandleValidator } from '../market/validator.ts';
import { createStrategy, shownParams } from '../strategy/registry.ts';
import { historyNeeded, type Strategy } from '../strategy/types.ts';
import { loadFunding, loadSeries, windowCandles, type FundingRate } from './data.ts';
import { CurveRecorder, monthlyReturns, type ExitTally } from './recorder.ts';
import { CountingRisk, type RiskEventRow } from './risk-counter.ts';
import { applyShock, type ShockSpec } from './shocks.ts';

/** Candles already in memory (tests, generated data). */
export interface SeriesInput {
  candles: Candle[];
  timeframe: Timeframe;
}

export interface RunConfigOptions {
  config: Config;
  /** Per symbol: a CSV path, or candles in memory. */
  data: Record<string, string | SeriesInput>;
  /** Window [from, to) in Unix ms; default: all the data. Candles before `from` only warm the strategy up. */
  from?: number | undefined;
  to?: number | undefined;
  /** Per symbol: a funding-rate CSV (timestamp_ms,rate) or the rates (perps only). */
  funding?: Record<string, string | FundingRate[]> | undefined;
  /** Per symbol: a synthetic shock applied to its candles (stress tests). */
  shocks?: Record<string, ShockSpec> | undefined;
  /** Keep the equity curve, daily closes and fills in the result (default true). */
  keepCurve?: boolean | undefined;
  /** A strategy built by the caller instead of the config's by name (model strategies: model-run.ts). */
  strategy?: ((symbol: string) => Strategy) | undefined;
}

export interface SymbolResult {
  bars: number;
  rejected_bars: number;
  fills: number;
  /** Closed round trips. */
  trades: number;
  wins: number;
  /** Realized PnL net of fees. */
  net_pnl: number;
  fees: number;
  /** Signed base quantity still open at the end (valued at the last close). */
  open_qty: number;
}

export interface TradeMark {
  ts: number;
  symbol: string;
  side: 'buy' | 'sell';
  price: number;
  qty: number;
}

/** Everything a research run reports. Plain JSON: it travels through worker threads and Redis. */
export interface RunResult {
  symbols: string[];
  timeframe: Timeframe;
  strategy: string;
  params: Record<string, number>;
  /** First and last candle (open time) acted on. */
  from: number;
  to: number;
  bars: number;
  rejected_bars: number;
  fills: number;
  final_equity: number;
  /** Gaps and other data issues the validator found, all symbols together. */
  data_issues: DataIssues;
  /** cagr and calmar: null when the data spans under 30 days (engine/cagr-span.ts). */
  metrics: Omit<Metrics, 'cagr'> & { cagr: number | null; calmar: number | null };
  worst_day: number;
  /** Longest stretch below a previous equity peak, in days. */
  time_under_water: number;
  under_water_fraction: number;
  /** Closed trades by exit reason (signal, stop-loss, take-profit…). */
  exits: Partial<Record<ExitReason, ExitTally>>;
  per_symbol: Record<string, SymbolResult>;
  /** Risk-rule rejections by rule id. */
  rejections: Record<string, number>;
  breaker_trips: number;
  halts: number;
  risk_events: RiskEventRow[];
  liquidations: TradeMark[];
  funding: { payments: number; total: number };
  equity: Array<[number, number]>;
  daily: Array<[number, number]>;
  monthly: Array<{ month: string; ret: number }>;
  /** Fills (at most MAX_MARKS) for charts. */
  trades: TradeMark[];
  elapsed_ms: number;
  bars_per_sec: number;
}

const MAX_MARKS = 5000;
const MAX_EVENTS = 200;

/** Run `config` over the data on the simulated clock at full speed: approvals off, paper venue in memory. */
export function runConfigBacktest(o: RunConfigOptions): RunResult {
  const run = openRun(o);
  try {
    run.journal.tx(() => {
      while (run.next() !== null) run.step();
    });
    return run.finish();
  } finally {
    run.journal.close();
  }
}

/**
 * The same run for a strategy with async per-candle work (a model policy reading its position): each
 * candle's prepare is awaited before the engine sees it, as the bot's feed does; one transaction per candle.
 */
export async function runConfigBacktestPerCandle(o: RunConfigOptions): Promise<RunResult> {
  const run = openRun(o);
  try {
    for (let n = run.next(); n !== null; n = run.next()) {
      const prepared = run.engine.prepareCandle(n.symbol, n.candle);
      if (prepared) await prepared;
      run.step();
    }
    return run.finish();
  } finally {
    run.journal.close();
  }
}

/** A run built and warmed up: `next` peeks the next candle (streams merged by time), `step` feeds it. */
function openRun(o: RunConfigOptions) {
  const cfg = o.config;
  const symbols = cfg.market.symbols;
  const timeframe = cfg.market.timeframe;
  const tfMs = TIMEFRAME_MS[timeframe];
  const marketType = cfg.market.type;
  const quote = quoteOf(symbols);
  const startingCash = cfg.exchange.paper.startingBalance[quote] ?? 0;

  const risk = new CountingRisk({ ...cfg.risk }, undefined, { explain: false });
  const recorder = new CurveRecorder(startingCash);
  // The grid strategy is built by the kernel (it trades through the engine it is attached to).
  const grid = cfg.strategy.name === 'grid';
  const strategies = new Map<string, Strategy>(
    grid
      ? []
      : symbols.map((s) => [s, o.strategy?.(s) ?? createStrategy(cfg.strategy.name, s, { ...cfg.strategy.params, timeframeMs: tfMs })]),
  );
  // Approvals off, the paper venue in memory, on a simulated clock: the kernel's backtest defaults.
  const clock = new SimClock(0);
  const exchange = paperVenue(cfg, clock);
  const { engine, journal } = buildEngine(
    { ...cfg, mode: 'backtest' },
    {
      clock,
      exchange,
      risk,
      ...(grid ? {} : { strategy: (symbol: string) => strategies.get(symbol)! }),
      // Research windows are checked with the validator's own rule (as before the kernel).
      validator: (symbol) => new CandleValidator(symbol, timeframe),
      startingCash,
      metrics: recorder,
    },
  );

  let streams: Stream[];
  try {
    streams = symbols.map((symbol) => {
      const input = o.data[symbol];
      if (input === undefined) throw new Error(`no data for ${symbol}: pass --data ${symbol}=file.csv`);
      const series = typeof input === 'string' ? loadSeries(input) : input;
      const label = typeof input === 'string' ? input : `${symbol} data`;
      const warmup = historyNeeded(strategies.get(symbol), cfg.risk.volatilityWindow);
      const w = windowCandles(label, series, timeframe, { from: o.from, to: o.to, warmup });
      const shock = o.shocks?.[symbol];
      const run = shock ? applyShock(w.run, shock, tfMs) : w.run;
      return { symbol, warm: w.warm, run, funding: fundingOf(o.funding?.[symbol]) };
    });
    // Warm-up candles before the window: indicators and the volatility estimate only, no trading;
    // candles the validator refuses are skipped as the engine would.
    for (const s of streams) {
      const strat = strategies.get(s.symbol);
      const ctx = { symbol: s.symbol, position: null, pending: false, allowShort: false };
      const check = new CandleValidator(s.symbol, timeframe);
      for (const c of s.warm) {
        if (!check.check(c).accepted) continue;
        strat?.onCandle(c, ctx);
        risk.onBar(s.symbol, c.close);
      }
    }
  } catch (e) {
    journal.close();
    throw e;
  }

  const t0 = performance.now();
  let fundingTotal = 0;
  let fundingPayments = 0;
  const fundingAt = streams.map(() => 0);
  const heads = streams.map(() => 0);
  let total = 0;
  let k = -1;
  return {
    engine,
    journal,
    /** The next candle (the symbols' streams merged by candle time, ties in config order), or null at the end. */
    next(): { symbol: string; candle: Candle } | null {
      let best = Infinity;
      k = -1;
      for (let i = 0; i < streams.length; i++) {
        const c = streams[i]!.run[heads[i]!];
        if (c !== undefined && c.ts < best) {
          best = c.ts;
          k = i;
        }
      }
      return k < 0 ? null : { symbol: streams[k]!.symbol, candle: streams[k]!.run[heads[k]!]! };
    },
    /** Feeds the candle `next` returned. */
    step(): void {
      const s = streams[k]!;
      const c = s.run[heads[k]!++]!;
      // Funding falls due at the candle's open: paid on the position held into it.
      if (s.funding !== null) {
        while (fundingAt[k]! < s.funding.length && s.funding[fundingAt[k]!]![0] <= c.ts) {
          const [fts, rate] = s.funding[fundingAt[k]!++]!;
          const pos = engine.portfolio.positions.get(s.symbol);
          if (pos === undefined || marketType !== 'perp') continue;
          const mark = engine.lastPrice(s.symbol);
          const amount = (pos.side === 'long' ? -1 : 1) * rate * pos.qty * (Number.isFinite(mark) ? mark : pos.entryPrice);
          exchange.deposit(quote, amount);
          engine.onFunding({ paymentId: `${s.symbol}:${fts}`, symbol: s.symbol, amount, rate, ts: fts });
          fundingTotal += amount;
          fundingPayments++;
        }
      }
      clock.set(c.ts + tfMs);
      engine.onCandle(s.symbol, c);
      total++;
    },
    finish(): RunResult {
      const elapsed = performance.now() - t0;
      return summarize({
        o,
        cfg,
        engine,
        journal,
        risk,
        recorder,
        streams,
        elapsed,
        total,
        funding: { payments: fundingPayments, total: fundingTotal },
      });
    },
  };
}

interface Stream {
  symbol: string;
  warm: Candle[];
  run: Candle[];
  funding: FundingRate[] | null;
}

function fundingOf(f: string | FundingRate[] | undefined): FundingRate[] | null {
  if (f === undefined) return null;
  return typeof f === 'string' ? loadFunding(f) : f;
}

function summarize(a: {
  o: RunConfigOptions;
  cfg: Config;
  engine: Engine;
  journal: Journal;
  risk: CountingRisk;
  recorder: CurveRecorder;
  streams: Array<{ symbol: string; run: Candle[] }>;
  elapsed: number;
  total: number;
  funding: { payments: number; total: number };
}): RunResult {
  const { cfg, engine, journal, risk, recorder } = a;
  const keep = a.o.keepCurve ?? true;
  const finalEquity = engine.portfolio.equity();
  const m = recorder.result(finalEquity);
  const cagr = reportedCagr(m.cagr, spanDays(m.days, TIMEFRAME_MS[cfg.market.timeframe]));
  const fig = recorder.figures();
  const fills = journal.fills();
  const perSymbol: Record<string, SymbolResult> = {};
  const net = new Map<string, number>();
  for (const s of cfg.market.symbols) {
    const n = engine.candleCounts(s);
    perSymbol[s] = { bars: n.accepted, rejected_bars: n.rejected, fills: 0, trades: 0, wins: 0, net_pnl: 0, fees: 0, open_qty: 0 };
    net.set(s, 0);
  }
  const trades: TradeMark[] = [];
  const liquidations: TradeMark[] = [];
  // Round trips per symbol from the fills: a trade closes when the net position returns to (or through) zero.
  const tradePnl = new Map<string, number>();
  for (const f of fills) {
    const r = perSymbol[f.symbol];
    if (!r) continue;
    const side = f.side as 'buy' | 'sell';
    const mark: TradeMark = { ts: f.ts, symbol: f.symbol, side, price: f.price, qty: f.qty };
    if (keep && trades.length < MAX_MARKS) trades.push(mark);
    if (f.clientOrderId.startsWith('liq-')) liquidations.push(mark);
    r.fills++;
    r.fees += f.fee;
    const pnl = (f.realizedPnl ?? 0) - f.fee;
    r.net_pnl += pnl;
    tradePnl.set(f.symbol, (tradePnl.get(f.symbol) ?? 0) + pnl);
    const before = net.get(f.symbol)!;
    const after = before + (side === 'buy' ? f.qty : -f.qty);
    const eps = 1e-12 * Math.max(1, Math.abs(before));
    if (Math.abs(before) > eps && (Math.abs(after) <= eps || Math.sign(after) !== Math.sign(before))) {
      r.trades++;
      if (tradePnl.get(f.symbol)! > 0) r.wins++;
      tradePnl.set(f.symbol, 0);
    }
    net.set(f.symbol, Math.abs(after) <= eps ? 0 : after);
  }
  for (const [s, q] of net) perSymbol[s]!.open_qty = q;
  const counts = cfg.market.symbols.map((s) => engine.candleCounts(s));
  const firsts = a.streams.map((s) => s.run[0]?.ts ?? Infinity);
  const lasts = a.streams.map((s) => s.run[s.run.length - 1]?.ts ?? -Infinity);
  const params = shownParams(cfg.strategy.name, cfg.strategy.params);
  return {
    symbols: [...cfg.market.symbols],
    timeframe: cfg.market.timeframe,
    strategy: cfg.strategy.name,
    params,
    from: Math.min(...firsts),
    to: Math.max(...lasts),
    bars: counts.reduce((x, c) => x + c.accepted, 0),
    rejected_bars: counts.reduce((x, c) => x + c.rejected, 0),
    fills: fills.length,
    final_equity: finalEquity,
    data_issues: mergeDataIssues(cfg.market.symbols.map((s) => engine.dataIssues(s))),
    metrics: { ...m, cagr, calmar: calmarOf(cagr, m.max_drawdown) },
    worst_day: fig.worstDay,
    time_under_water: fig.longestUnderWaterMs / 86_400_000,
    under_water_fraction: fig.underWaterFraction,
    exits: fig.exits,
    per_symbol: perSymbol,
    rejections: { ...risk.rejections },
    breaker_trips: risk.breakerTrips,
    halts: risk.halts,
    risk_events: risk.events.slice(0, MAX_EVENTS),
    liquidations,
    funding: a.funding,
    equity: keep ? fig.equity : [],
    daily: keep ? fig.daily : [],
    monthly: keep ? monthlyReturns(m.start_equity, fig.daily) : [],
    trades,
    elapsed_ms: a.elapsed,
    bars_per_sec: a.elapsed > 0 ? a.total / (a.elapsed / 1000) : 0,
  };
}
