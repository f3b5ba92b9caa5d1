// The `model` and `ensemble` strategies: ONNX models behind the ordinary Strategy interface.
//
// Inference is async (onnxruntime's run) while the engine's candle step is synchronous (one SQLite transaction
// per candle), so the work is split: `prepare(candle)` computes this candle's features on a scratch copy of the
// pipelines and runs the members, and is awaited by the feed before it hands the candle to the engine;
// `onCandle` then commits the features and turns the prepared votes into a signal, synchronously. A candle
// the validator rejects never reaches onCandle and leaves no trace. Without a prepare (warm-up after a restart),
// onCandle only advances the features.
import type { Logger } from '../core/logger.ts';
import type { Candle, ModelVote, Signal, SignalAction } from '../core/types.ts';
import { isEntry } from '../core/types.ts';
import { AtrStop, CloseTime, crossAction, fmt } from '../strategy/builtin/common.ts';
import type { Strategy, StrategyContext } from '../strategy/types.ts';
import { combine, type MemberVote, type VoteMode } from './ensemble.ts';
import { FeaturePipeline, featureKey } from './features.ts';
import type { LoadedModel, ModelPrediction, Observation } from './model.ts';
import type { ModelSet, ModelSlot } from './model-set.ts';

export interface ModelStrategyOptions {
  /** 'model' (one member) or 'ensemble'. */
  name: 'model' | 'ensemble';
  symbol: string;
  set: ModelSet;
  /** Slot names in `set`, with weights. */
  members: ReadonlyArray<{ model: string; weight: number }>;
  mode: VoteMode;
  /** No entry below this confidence; exits are not gated. */
  minConfidence: number;
  timeframeMs: number;
  /** Stop distance in ATRs on entries (0 = the engine's configured stop). */
  atrStop?: number;
  atrPeriod?: number;
  /** Candles kept to warm a new version whose feature list differs (default 1000). */
  historyBars?: number;
  logger?: Logger;
  /** Journals and scores predictions (the bot's model runtime). */
  observer?: ModelObserver;
  /**
   * Backtests: predictions computed in batches ahead of the loop, looked up instead of run (null: none for that
   * candle, e.g. warming up). undefined: the model is not batched (it reads the account) and runs in `prepare`.
   */
  precomputed?: (model: LoadedModel, candleTs: number) => ModelPrediction | null | undefined;
  /**
   * false: signals carry no feature values, and batched members' shared feature pipelines are not
   * advanced per candle (only a signal's features read them). For backtests whose journal keeps no
   * decisions: profile of the batched ensemble backtest, that per-candle pass was ~8 % of the run,
   * the same features the batch had already computed. Default true.
   */
  recordFeatures?: boolean;
}

export interface ModelObserver {
  /** Every committed candle, by its close time (scores predictions whose horizon has passed). */
  candle(symbol: string, closeTs: number, close: number): void;
  /** The members' predictions on a candle and the signal they produced (null: none). */
  predictions(
    symbol: string,
    closeTs: number,
    price: number,
    votes: ReadonlyArray<{ vote: ModelVote; model: LoadedModel }>,
    signal: Signal | null,
  ): void;
}

interface Member {
  slot: ModelSlot;
  weight: number;
  /** Committed features (through the last candle onCandle saw). */
  pipe: FeaturePipeline | null;
  /** Features including the candle being prepared. */
  scratch: FeaturePipeline | null;
  preparedTs: number;
  model: LoadedModel | null;
  prediction: ModelPrediction | null;
  error: string | null;
  /** Position the prediction was made with, when the model reads it. */
  position: StrategyContext['position'] | undefined;
  /** The model `pipe` was last checked against (its feature key is computed once per version). */
  pipeModel: LoadedModel | null;
  /**
   * After a commit, `scratch` is the old `pipe`: exactly `lag` behind `lagOf` (the new one). The next
   * prepare brings it level by updating it with that one candle instead of copying every window
   * (copyState was ~30 % of a per-candle ensemble backtest's profile).
   */
  lagOf: FeaturePipeline | null;
  lag: Candle | null;
  /** Predictions precomputed (a backtest): `pipe` is shared with every batched member of its feature list. */
  batched: boolean;
}

export class ModelStrategy implements Strategy {
  readonly name: string;
  private readonly members: Member[];
  private readonly close: CloseTime;
  private readonly stop: AtrStop;
  /** The last historyBars committed candles (ring), oldest at `historyHead` once full. */
  private readonly history: Candle[] = [];
  private historyHead = 0;
  private readonly historyBars: number;
  private preparedTs = NaN;
  /**
   * Backtests: one committed pipeline per feature list for the members whose predictions were batched,
   * advanced once per candle (profile of the batched ensemble backtest: each of the three members
   * advancing its own copy of the same features was a quarter of the loop).
   */
  private readonly batchedPipes = new Map<string, FeaturePipeline>();

  constructor(private readonly o: ModelStrategyOptions) {
    this.name = o.name;
    if (o.members.length === 0) throw new Error(`${o.name}: no member models`);
    if (o.name === 'model' && o.members.length !== 1) throw new Error('model: exactly one model (use the ensemble strategy for several)');
    this.members = o.members.map((m) => {
      const slot = o.set.slots.get(m.model);
      if (slot === undefined)
        throw new Error(`${o.name}: model "${m.model}" is not loaded (known: ${[...o.set.slots.keys()].join(', ') || 'none'})`);
      return {
        slot,
        weight: m.weight,
        pipe: null,
        scratch: null,
        preparedTs: NaN,
        model: null,
        prediction: null,
        error: null,
        position: undefined,
        pipeModel: null,
        lagOf: null,
        lag: null,
        batched: false,
      };
    });
    this.close = new CloseTime(o.timeframeMs);
    this.stop = new AtrStop(o.atrStop ?? 0, o.atrPeriod ?? 14);
    this.historyBars = o.historyBars ?? 1000;
  }

  /** Candles before every serving member's features are defined. */
  get warmup(): number {
    let w = 0;
    for (const m of this.members) {
      const cur = m.slot.current;
      if (cur !== null) w = Math.max(w, new FeaturePipeline(cur.manifest.features).warmup);
    }
    return w;
  }

  async prepare(candle: Candle, ctx: StrategyContext): Promise<void> {
    this.preparedTs = candle.ts;
    await Promise.all(this.members.map((m) => this.prepareMember(m, candle, ctx)));
  }

  private async prepareMember(m: Member, candle: Candle, ctx: StrategyContext): Promise<void> {
    m.preparedTs = candle.ts;
    m.prediction = null;
    m.error = null;
    m.position = undefined;
    // The slot's model is read once per candle: a hot swap lands between two candles.
    const model = m.slot.enabled ? m.slot.current : null;
    m.model = model;
    if (model === null) {
      m.scratch = null;
      return;
    }
    const pre = this.o.precomputed?.(model, candle.ts);
    if (pre !== undefined) {
      // Batched ahead of the loop: onCandle advances the committed features itself.
      this.batchedPipelineFor(m, model);
      m.preparedTs = NaN;
      m.prediction = pre;
      return;
    }
    const pipe = this.pipelineFor(m, model);
    if (m.scratch === null || m.scratch.key !== pipe.key) {
      m.scratch = new FeaturePipeline(model.manifest.features);
      m.lag = null; // a new scratch is behind by everything: it is copied
    }
    if (m.lagOf === pipe && m.lag !== null) m.scratch.update(m.lag);
    else m.scratch.copyFrom(pipe);
    m.lagOf = null;
    m.lag = null;
    if (!m.scratch.update(candle)) return;
    const obs: Observation = {
      position: ctx.position === 'long' ? 1 : ctx.position === 'short' ? -1 : 0,
      unrealized_pnl: ctx.position === null ? 0 : (ctx.unrealizedPnlPct ?? 0),
    };
    if (model.extra.includes('position') || model.extra.includes('unrealized_pnl')) m.position = ctx.position;
    try {
      m.prediction = await model.predict(m.scratch.values, obs);
      this.o.set.clearFailure(m.slot, model);
    } catch (e) {
      m.error = (e as Error).message;
      this.o.set.reportFailure(m.slot, model, m.error);
    }
  }

  /** The member's committed pipeline for this model's feature list (rebuilt from history when it changed). */
  private pipelineFor(m: Member, model: LoadedModel): FeaturePipeline {
    if (m.batched && m.pipe !== null) {
      // Run per candle from now on: a pipeline of its own (the shared one only advances in onCandle,
      // and not at all without recordFeatures: then it is rebuilt from the candles kept).
      const from = m.pipeModel ?? model;
      if (this.o.recordFeatures === false) m.pipe = this.fromHistory(from);
      else {
        const own = new FeaturePipeline(from.manifest.features);
        own.copyFrom(m.pipe);
        m.pipe = own;
      }
    }
    m.batched = false;
    if (m.pipe !== null && m.pipeModel === model) return m.pipe;
    m.pipeModel = model;
    const key = featureKey(model.manifest.features);
    if (m.pipe === null || m.pipe.key !== key) {
      const p = this.fromHistory(model);
      if (m.pipe !== null && p.warmup > this.history.length)
        this.o.logger?.warn(
          { model: m.slot.name },
          `${model.label}: new feature list, warming up (${this.history.length}/${p.warmup} candles)`,
        );
      m.pipe = p;
    }
    return m.pipe;
  }

  /** A pipeline for this model's feature list, warmed on the candles kept. */
  private fromHistory(model: LoadedModel): FeaturePipeline {
    const p = new FeaturePipeline(model.manifest.features);
    const h = this.history;
    for (let i = 0; i < h.length; i++) p.update(h[(this.historyHead + i) % h.length]!);
    return p;
  }

  private batchedPipelineFor(m: Member, model: LoadedModel): void {
    if (m.batched && m.pipeModel === model) return;
    const key = featureKey(model.manifest.features);
    let p = this.batchedPipes.get(key);
    if (p === undefined) {
      p = this.fromHistory(model);
      this.batchedPipes.set(key, p);
    }
    m.batched = true;
    m.pipe = p;
    m.pipeModel = model;
    m.scratch = null;
    m.lagOf = null;
    m.lag = null;
  }

  onCandle(candle: Candle, ctx: StrategyContext): Signal | null {
    this.close.observe(candle.ts);
    this.stop.update(candle);
    if (this.preparedTs !== candle.ts && this.o.precomputed !== undefined) this.lookup(candle);
    const prepared = this.preparedTs === candle.ts;
    if (this.o.recordFeatures !== false) for (const p of this.batchedPipes.values()) p.update(candle);
    for (const m of this.members) {
      if (m.batched) continue;
      if (prepared && m.preparedTs === candle.ts && m.scratch !== null && m.pipe !== null && m.scratch.key === m.pipe.key) {
        const p = m.pipe;
        m.pipe = m.scratch; // commit: the scratch copy already holds this candle
        m.scratch = p;
        m.lagOf = m.pipe;
        m.lag = candle;
      } else if (m.pipe !== null) {
        m.pipe.update(candle);
        m.lagOf = null;
        m.lag = null;
      }
    }
    if (this.history.length < this.historyBars) this.history.push(candle);
    else {
      this.history[this.historyHead] = candle;
      this.historyHead = (this.historyHead + 1) % this.historyBars;
    }
    this.o.observer?.candle(this.o.symbol, this.close.of(candle.ts), candle.close);
    if (!prepared) return null;
    this.preparedTs = NaN;
    return this.decide(candle, ctx);
  }

  /** Backtests: this candle's predictions from the precomputed batch (features still advance in onCandle). */
  private lookup(candle: Candle): void {
    for (const m of this.members) {
      const model = m.slot.enabled ? m.slot.current : null;
      m.model = model;
      m.preparedTs = NaN;
      m.error = null;
      m.position = undefined;
      const pre = model === null ? undefined : this.o.precomputed!(model, candle.ts);
      m.prediction = pre ?? null;
      if (model === null) continue;
      if (pre !== undefined) this.batchedPipelineFor(m, model);
      else this.pipelineFor(m, model);
    }
    this.preparedTs = candle.ts;
  }

  private decide(candle: Candle, ctx: StrategyContext): Signal | null {
    const counted: MemberVote[] = [];
    const votes: ModelVote[] = [];
    for (const m of this.members) {
      if (m.model === null) continue;
      const v: ModelVote = { model: m.slot.name, version: m.model.manifest.version, action: 'hold', confidence: 0, weight: m.weight };
      let pred = m.prediction;
      if (pred !== null && m.position !== undefined && m.position !== ctx.position) {
        v.error = `position changed during the candle (${m.position ?? 'flat'} → ${ctx.position ?? 'flat'})`;
        pred = null;
      }
      if (pred === null) {
        if (m.error !== null) v.error = m.error;
        else if (v.error === undefined) continue; // still warming up
      } else {
        v.action = pred.action;
        v.confidence = pred.confidence;
        v.dist = pred.dist;
        if (pred.value !== undefined) v.value = pred.value;
        counted.push({ weight: m.weight, prediction: pred });
      }
      votes.push(v);
    }
    const signal = counted.length === 0 ? null : this.signalOf(candle, ctx, counted, votes);
    if (this.o.observer !== undefined && votes.length > 0) {
      const out: Array<{ vote: ModelVote; model: LoadedModel }> = [];
      for (const m of this.members) {
        const v = m.model === null ? undefined : votes.find((x) => x.model === m.slot.name);
        if (v !== undefined && v.error === undefined) out.push({ vote: v, model: m.model! });
      }
      this.o.observer.predictions(this.o.symbol, this.close.of(candle.ts), candle.close, out, signal);
    }
    return signal;
  }

  private signalOf(candle: Candle, ctx: StrategyContext, counted: MemberVote[], votes: ModelVote[]): Signal | null {
    const c = combine(counted, this.o.mode);
    if (c.action === 'hold') return null;
    let action: SignalAction | null = crossAction(c.action === 'buy' ? 1 : -1, ctx);
    if (action === null) return null;
    if (isEntry(action) && c.confidence < this.o.minConfidence) {
      // Too unsure to enter: a flip only closes the opposite position, a fresh entry is skipped.
      if (action === 'enter_short' && ctx.position === 'long') action = 'exit_long';
      else if (action === 'enter_long' && ctx.position === 'short') action = 'exit_short';
      else return null;
    }
    let features: Record<string, number> | undefined;
    if (this.o.recordFeatures !== false) {
      features = {};
      for (const m of this.members) if (m.pipe !== null && m.model !== null) Object.assign(features, m.pipe.toRecord());
    }
    const who = votes
      .map((v) => `${v.model} v${v.version} ${v.error !== undefined ? 'no vote' : `${v.action} ${fmt(v.confidence)}`}`)
      .join(', ');
    const signal: Signal = {
      symbol: this.o.symbol,
      action,
      ts: this.close.of(candle.ts),
      price: candle.close,
      strategy: this.name,
      reason: `${this.name} ${this.o.mode}: ${c.action} at confidence ${fmt(c.confidence)} (${who})`,
      confidence: c.confidence,
      votes,
    };
    if (features !== undefined) signal.features = features;
    const sl = this.stop.stopFor(action, candle.close);
    if (sl !== undefined) signal.stopLoss = sl;
    return signal;
  }
}
