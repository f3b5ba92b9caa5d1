// Research runs of a config whose strategy is `model` or `ensemble` (skipper backtest --config, select's
// model candidates): the members are loaded once, every model that does not read the account is run in
// batches over each symbol's candles ahead of the loop, and the run goes through runConfigBacktest — per
// candle (runConfigBacktestPerCandle) when a member is a policy reading its position.
import type { Config } from '../config/schema.ts';
import { TIMEFRAME_MS } from '../core/types.ts';
import { batchPredictionsAll, lookupIn, type PredictionTrack } from '../models/backtest.ts';
import type { LoadedModel } from '../models/model.ts';
import { ModelSet } from '../models/model-set.ts';
import { ModelStrategy } from '../models/strategy.ts';
import { modelSpec } from '../models/wire.ts';
import { loadSeries } from './data.ts';
import { runConfigBacktest, runConfigBacktestPerCandle, type RunConfigOptions, type RunResult, type SeriesInput } from './run-config.ts';

export interface ModelRunResult extends RunResult {
  /** Member models as loaded: folder name and version. */
  models: Array<{ name: string; version: number; perCandle: boolean }>;
}

/** Runs `o.config` (a model strategy) like runConfigBacktest. Throws naming the model file and field when one is refused. */
export async function runModelConfigBacktest(o: RunConfigOptions): Promise<ModelRunResult> {
  const cfg: Config = o.config;
  const spec = modelSpec(cfg);
  const set = new ModelSet(undefined, { timeframe: cfg.market.timeframe });
  try {
    for (const dir of spec.dirs) {
      const ev = await set.load(dir);
      if (ev?.type === 'refused') throw new Error(ev.error);
    }
    const tfMs = TIMEFRAME_MS[cfg.market.timeframe];
    const data: Record<string, SeriesInput> = {};
    const batched = new Map<string, Map<LoadedModel, PredictionTrack>>();
    for (const symbol of cfg.market.symbols) {
      const input = o.data[symbol];
      if (input === undefined) throw new Error(`no data for ${symbol}: pass --data ${symbol}=file.csv`);
      const series = typeof input === 'string' ? loadSeries(input) : input;
      data[symbol] = series;
      const ahead = [...set.slots.values()].filter((slot) => slot.current!.extra.length === 0).map((slot) => slot.current!);
      batched.set(symbol, await batchPredictionsAll(ahead, series.candles));
    }
    const members = spec.config.members.map((m, i) => ({ model: [...set.slots.keys()][i]!, weight: m.weight }));
    const p = cfg.strategy.params;
    const strategy = (symbol: string) =>
      new ModelStrategy({
        name: spec.name,
        symbol,
        set,
        members,
        mode: spec.config.mode,
        minConfidence: spec.config.minConfidence,
        timeframeMs: tfMs,
        ...(p.atrStop !== undefined ? { atrStop: p.atrStop } : {}),
        ...(p.atrPeriod !== undefined ? { atrPeriod: p.atrPeriod } : {}),
        precomputed: lookupIn(batched.get(symbol)!),
        recordFeatures: false, // research journals keep fills only
      });
    const perCandle = [...set.slots.values()].some((s) => s.current!.extra.length > 0);
    const run = { ...o, data, strategy };
    const r = perCandle ? await runConfigBacktestPerCandle(run) : runConfigBacktest(run);
    const models = [...set.slots.values()].map((s) => ({
      name: s.name,
      version: s.current!.manifest.version,
      perCandle: s.current!.extra.length > 0,
    }));
    return { ...r, models };
  } finally {
    await set.close();
  }
}
