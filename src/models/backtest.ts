// Model strategies in `skipper backtest`: the members are loaded, and every model that does not read the
// account (no position / unrealized-PnL input) is run over all candles in batches ahead of the engine loop;
// the strategy then looks its predictions up, so the engine's loop stays the synchronous one of every backtest.
// Policies that read the position run per candle (the loop awaits the strategy's prepare, as the bot's feed does).
import { isAbsolute, join } from 'node:path';
import type { Candle } from '../core/types.ts';
import { timeframeFromMs } from '../market/feed.ts';
import { VOTE_MODES, type VoteMode } from './ensemble.ts';
import { FeaturePipeline, featureKey } from './features.ts';
import type { LoadedModel, ModelPrediction } from './model.ts';
import { ACTIONS } from './manifest.ts';
import { ModelSet } from './model-set.ts';
import { ENSEMBLE_FILE, readEnsemble } from './open.ts';
import { ModelStrategy } from './strategy.ts';

export interface ModelBacktestArgs {
  strategy: 'model' | 'ensemble';
  /** --model: one folder. */
  model?: string;
  /** --models: folders; absent: models/ensemble.json. */
  models?: string[];
  vote?: VoteMode;
  minConfidence?: number;
  /** Where bare names and ensemble.json are looked up (default models). */
  dir?: string;
  atrStop?: number;
  /** false: run every member per candle, none batched ahead (benches; the same outputs, slower). */
  batch?: boolean;
  /** Signals carry their feature values: the run's journal keeps decisions (`--journal-detail full`). Default false. */
  recordFeatures?: boolean;
}

/** Rows per ONNX run: large enough to amortize the call, small enough to keep the event loop turning. */
const BATCH_ROWS = 4096;

/**
 * A model's predictions over a run's candles, by candle open time, read in time order. Columns of typed
 * arrays, not objects: profiles of the batched ensemble backtest showed a Map keyed by time (25 % of
 * the run: times of ~1.7e12 are heap numbers to V8), then the 390 k prediction objects of a 3-model run
 * kept alive from the batch to the loop (each copied twice by scavenges before it settled in the old
 * generation). `get` makes the prediction afresh, a short-lived object.
 */
export class PredictionTrack {
  private ts: Float64Array;
  private action: Uint8Array;
  private conf: Float64Array;
  /** [sell, hold, buy] per row. */
  private dist: Float64Array;
  /** NaN: the prediction has no value. */
  private value: Float64Array;
  private n = 0;
  private cursor = 0;

  /** `capacity`: the rows expected (a run's candle count); the track grows past it if need be. */
  constructor(capacity = 1024) {
    const cap = Math.max(1, capacity);
    this.ts = new Float64Array(cap);
    this.action = new Uint8Array(cap);
    this.conf = new Float64Array(cap);
    this.dist = new Float64Array(3 * cap);
    this.value = new Float64Array(cap);
  }

  /** Appended in increasing time order (the candles are). */
  push(ts: number, p: ModelPrediction): void {
    if (this.n === this.ts.length) this.grow();
    const i = this.n++;
    this.ts[i] = ts;
    this.action[i] = ACTIONS.indexOf(p.action);
    this.conf[i] = p.confidence;
    this.dist[3 * i] = p.dist[0];
    this.dist[3 * i + 1] = p.dist[1];
    this.dist[3 * i + 2] = p.dist[2];
    this.value[i] = p.value ?? NaN;
  }

  private grow(): void {
    const cap = this.ts.length * 2;
    const widen = <T extends Float64Array | Uint8Array>(a: T, k = 1): T => {
      const b = new (a.constructor as new (n: number) => T)(cap * k);
      b.set(a);
      return b;
    };
    this.ts = widen(this.ts);
    this.action = widen(this.action);
    this.conf = widen(this.conf);
    this.dist = widen(this.dist, 3);
    this.value = widen(this.value);
  }

  get size(): number {
    return this.n;
  }

  has(ts: number): boolean {
    return this.indexOf(ts) >= 0;
  }

  /** The prediction for the candle opened at `ts`; undefined when there is none (warm-up). O(1) when read in order. */
  get(ts: number): ModelPrediction | undefined {
    const i = this.indexOf(ts);
    if (i < 0) return undefined;
    const d = this.dist;
    const p: ModelPrediction = {
      action: ACTIONS[this.action[i]!]!,
      confidence: this.conf[i]!,
      dist: [d[3 * i]!, d[3 * i + 1]!, d[3 * i + 2]!],
    };
    const v = this.value[i]!;
    if (!Number.isNaN(v)) p.value = v;
    return p;
  }

  private indexOf(ts: number): number {
    const t = this.ts;
    const n = this.n;
    const i = this.cursor;
    if (i < n && t[i] === ts) return i;
    if (i + 1 < n && t[i + 1] === ts) return (this.cursor = i + 1);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (t[mid]! < ts) lo = mid + 1;
      else hi = mid;
    }
    if (lo < n && t[lo] === ts) return (this.cursor = lo);
    return -1;
  }
}

/**
 * ModelStrategy's `precomputed` over batched tracks: a model without a track is not batched (undefined:
 * it runs per candle); a candle without a prediction is null (warming up).
 */
export function lookupIn(
  tracks: ReadonlyMap<LoadedModel, PredictionTrack>,
): (model: LoadedModel, ts: number) => ModelPrediction | null | undefined {
  return (model, ts) => {
    const t = tracks.get(model);
    return t === undefined ? undefined : (t.get(ts) ?? null);
  };
}

/** Predictions of `model` for every candle whose features are defined, by the candle's open time. */
export async function batchPredictions(model: LoadedModel, candles: readonly Candle[]): Promise<PredictionTrack> {
  return (await batchPredictionsAll([model], candles)).get(model)!;
}

/**
 * The same for several models. Models with the same feature list share one pass of the feature pipeline
 * over the candles and each batch of rows (profile: the features were half of a 3-model ensemble's
 * batched inference, computed once per model).
 */
export async function batchPredictionsAll(
  models: readonly LoadedModel[],
  candles: readonly Candle[],
): Promise<Map<LoadedModel, PredictionTrack>> {
  const out = new Map<LoadedModel, PredictionTrack>();
  const byFeatures = new Map<string, LoadedModel[]>();
  for (const m of models) {
    out.set(m, new PredictionTrack(candles.length));
    const key = featureKey(m.manifest.features);
    const group = byFeatures.get(key);
    if (group) group.push(m);
    else byFeatures.set(key, [m]);
  }
  for (const group of byFeatures.values()) {
    const pipe = new FeaturePipeline(group[0]!.manifest.features);
    const nf = pipe.size;
    const rows = new Float64Array(BATCH_ROWS * nf); // refilled per batch: each run copies its rows first
    const ts: number[] = [];
    let n = 0;
    const flush = async () => {
      for (const m of group) {
        const preds = await m.predictMany(rows, n);
        const o = out.get(m)!;
        for (let i = 0; i < preds.length; i++) o.push(ts[i]!, preds[i]!);
      }
      n = 0;
      ts.length = 0;
      await new Promise<void>((r) => setImmediate(r));
    };
    for (const c of candles) {
      if (!pipe.update(c)) continue;
      rows.set(pipe.values, n * nf);
      ts.push(c.ts);
      if (++n === BATCH_ROWS) await flush();
    }
    if (n > 0) await flush();
  }
  return out;
}

export interface PreparedModelBacktest {
  strategy: ModelStrategy;
  set: ModelSet;
  members: string[];
  mode: VoteMode;
  /** Members that read the account (policies): run per candle, so the backtest loop awaits each candle's prepare. */
  perCandle: string[];
  /** Wall time spent on the batched inference (ms). */
  inferenceMs: number;
  close(): Promise<void>;
}

/** Loads the members and precomputes their predictions over `candles`. */
export async function prepareModelBacktest(
  a: ModelBacktestArgs,
  symbol: string,
  timeframeMs: number,
  candles: readonly Candle[],
): Promise<PreparedModelBacktest> {
  const root = a.dir ?? 'models';
  const path = (m: string) => (isAbsolute(m) || m.includes('/') ? m : join(root, m));
  let members: Array<{ dir: string; weight: number }>;
  let mode: VoteMode = a.vote ?? 'weighted';
  let minConfidence = a.minConfidence ?? (a.strategy === 'model' ? 0 : 0.5);
  if (a.strategy === 'model') {
    if (a.model === undefined) throw new Error('--strategy model needs --model <folder>');
    members = [{ dir: path(a.model), weight: 1 }];
  } else if (a.models !== undefined && a.models.length > 0) {
    members = a.models.map((m) => ({ dir: path(m), weight: 1 }));
  } else {
    const e = readEnsemble(join(root, ENSEMBLE_FILE));
    members = e.members.map((m) => ({ dir: path(m.model), weight: m.weight }));
    mode = a.vote ?? e.mode;
    minConfidence = a.minConfidence ?? e.minConfidence;
  }
  const set = new ModelSet(undefined, { timeframe: timeframeFromMs(timeframeMs) });
  for (const m of members) {
    const ev = await set.load(m.dir);
    if (ev?.type === 'refused') {
      await set.close();
      throw new Error(ev.error);
    }
  }
  const names = [...set.slots.keys()];
  // A policy reading the position or its PnL cannot be run ahead: it runs per candle, in the engine's loop.
  const perCandle = [...set.slots.values()].filter((s) => s.current!.extra.length > 0 || a.batch === false).map((s) => s.name);
  const t0 = performance.now();
  const ahead = [...set.slots.values()].filter((s) => !perCandle.includes(s.name)).map((s) => s.current!);
  const byModel = await batchPredictionsAll(ahead, candles);
  const inferenceMs = performance.now() - t0;
  const strategy = new ModelStrategy({
    name: a.strategy,
    symbol,
    set,
    members: names.map((n, i) => ({ model: n, weight: members[i]!.weight })),
    mode,
    minConfidence,
    timeframeMs,
    ...(a.atrStop !== undefined ? { atrStop: a.atrStop } : {}),
    precomputed: lookupIn(byModel),
    recordFeatures: a.recordFeatures === true,
  });
  return { strategy, set, members: names, mode, perCandle, inferenceMs, close: () => set.close() };
}

/** `skipper backtest --strategy model|ensemble …`: the CLI's options → a prepared model strategy. */
export function modelBacktestStrategy(
  o: Record<string, unknown>,
  symbol: string,
  timeframeMs: number,
  candles: readonly Candle[],
): Promise<PreparedModelBacktest> {
  const vote = o.vote as string | undefined;
  if (vote !== undefined && !(VOTE_MODES as readonly string[]).includes(vote))
    throw new Error(`--vote: expected ${VOTE_MODES.join(' or ')}, got "${vote}"`);
  const mc = o.minConfidence as number | undefined;
  if (mc !== undefined && mc > 1) throw new Error(`--min-confidence: expected 0–1, got ${mc}`);
  return prepareModelBacktest(
    {
      strategy: o.strategy === 'model' ? 'model' : 'ensemble',
      ...(typeof o.model === 'string' ? { model: o.model } : {}),
      ...(typeof o.models === 'string' ? { models: o.models.split(',').filter(Boolean) } : {}),
      ...(vote !== undefined ? { vote: vote as VoteMode } : {}),
      ...(mc !== undefined ? { minConfidence: mc } : {}),
      recordFeatures: o.journalDetail === 'full',
    },
    symbol,
    timeframeMs,
    candles,
  );
}
