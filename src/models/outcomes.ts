// Scoring predictions against what the market did (pure): direction hit and realized return over the
// prediction's horizon, and per model version the hit rate, mean return when followed, calibration
// (confidence bucket → hit rate) and the Brier score of the class probabilities.
import { ACTIONS, type ModelAction } from './manifest.ts';

export interface PredictionRecord {
  model: string;
  version: number;
  symbol?: string;
  /** Close time of the candle the prediction was made on (ms). */
  ts: number;
  action: ModelAction;
  confidence: number;
  /** Probabilities over [sell, hold, buy] (classifiers; scored with Brier). */
  dist?: readonly number[];
  value?: number;
  /** Bars ahead the prediction is about. */
  horizon: number;
  /** Close at `ts`. */
  price: number;
  /** |return| below this is a "hold" outcome (the label's threshold); default 0. */
  threshold?: number;
}

export interface Outcome {
  prediction: PredictionRecord;
  /** Close `horizon` bars later. */
  exitPrice: number;
  /** exitPrice / price − 1. */
  ret: number;
  /** What happened, by the same threshold as the label. */
  realized: ModelAction;
  /** buy/sell: did the price move that way (ret > 0 / ret < 0)? hold: null. */
  hit: boolean | null;
  /** Return of following the prediction (buy: ret, sell: −ret); hold: null. */
  followed: number | null;
  /** Σ (p_k − o_k)² over [sell, hold, buy] when the prediction has probabilities. */
  brier: number | null;
}

export function scoreOutcome(p: PredictionRecord, exitPrice: number): Outcome {
  if (!(p.price > 0) || !(exitPrice > 0)) throw new Error(`scoreOutcome: prices must be > 0 (got ${p.price}, ${exitPrice})`);
  const ret = exitPrice / p.price - 1;
  const thr = p.threshold ?? 0;
  const realized: ModelAction = ret > thr ? 'buy' : ret < -thr ? 'sell' : 'hold';
  const hit = p.action === 'hold' ? null : p.action === 'buy' ? ret > 0 : ret < 0;
  const followed = p.action === 'hold' ? null : p.action === 'buy' ? ret : -ret;
  let brier: number | null = null;
  if (p.dist !== undefined && p.dist.length === 3) {
    const k = ACTIONS.indexOf(realized);
    brier = 0;
    for (let i = 0; i < 3; i++) {
      const d = p.dist[i]! - (i === k ? 1 : 0);
      brier += d * d;
    }
  }
  return { prediction: p, exitPrice, ret, realized, hit, followed, brier };
}

export interface CalibrationBucket {
  /** Confidence range [from, to). The last bucket includes 1. */
  from: number;
  to: number;
  n: number;
  meanConfidence: number;
  hitRate: number;
}

export interface ModelScore {
  model: string;
  version: number;
  predictions: number;
  /** buy/sell predictions (the ones a trade would follow). */
  directional: number;
  hits: number;
  /** hits / directional (NaN when there are none). */
  hitRate: number;
  /** Mean return of following the directional predictions (before fees). */
  meanReturn: number;
  /** Mean Brier score of the predictions with probabilities (NaN when none). */
  brier: number;
  calibration: CalibrationBucket[];
}

/** Confidence buckets of the calibration table: [0, 0.1), [0.1, 0.2) … [0.9, 1]. */
export const CALIBRATION_BUCKETS = 10;

/**
 * A version's scored predictions summed up, one row per calibration bucket of the directional ones
 * (`bucket` −1: the holds). SQLite adds them up (ModelJournal.summary): a few weeks of 1m predictions are
 * 100,000+ rows, which read one by one into JS held the bot ~2 s per /models.
 */
export interface BucketSums {
  bucket: number;
  n: number;
  directional: number;
  hits: number;
  /** Σ return of following the directional ones. */
  followed: number;
  /** Σ confidence (clamped to [0, 1]) of the directional ones. */
  conf: number;
  brierSum: number;
  brierN: number;
}

/** A confidence as the calibration counts it: within [0, 1] (ModelJournal.summary's SQL clamps the same). */
const clamped = (confidence: number): number => Math.min(1, Math.max(0, confidence));

/** The calibration bucket of a directional prediction (ModelJournal.summary's SQL says the same). */
export const bucketOf = (confidence: number, buckets = CALIBRATION_BUCKETS): number =>
  Math.min(buckets - 1, Math.floor(clamped(confidence) * buckets));

/** Per (model, version), in first-seen order: outcomes held in memory (the trainer's test rows). */
export function summarize(outcomes: Iterable<Outcome>, buckets = CALIBRATION_BUCKETS): ModelScore[] {
  const by = new Map<string, { model: string; version: number; rows: Map<number, BucketSums> }>();
  for (const o of outcomes) {
    const p = o.prediction;
    const key = `${p.model}\u0000${p.version}`;
    let v = by.get(key);
    if (v === undefined) by.set(key, (v = { model: p.model, version: p.version, rows: new Map() }));
    const bucket = o.hit === null ? -1 : bucketOf(p.confidence, buckets);
    let r = v.rows.get(bucket);
    if (r === undefined) v.rows.set(bucket, (r = { bucket, n: 0, directional: 0, hits: 0, followed: 0, conf: 0, brierSum: 0, brierN: 0 }));
    r.n++;
    if (o.brier !== null) {
      r.brierSum += o.brier;
      r.brierN++;
    }
    if (o.hit === null) continue;
    r.directional++;
    if (o.hit) r.hits++;
    r.followed += o.followed!;
    r.conf += clamped(p.confidence);
  }
  return [...by.values()].map((v) => scoreOf(v.model, v.version, [...v.rows.values()], buckets));
}

/** A version's score from its bucket sums. */
export function scoreOf(model: string, version: number, rows: readonly BucketSums[], buckets = CALIBRATION_BUCKETS): ModelScore {
  const s: ModelScore = {
    model,
    version,
    predictions: 0,
    directional: 0,
    hits: 0,
    hitRate: NaN,
    meanReturn: NaN,
    brier: NaN,
    calibration: [],
  };
  let ret = 0;
  let brierSum = 0;
  let brierN = 0;
  for (const r of [...rows].sort((a, b) => a.bucket - b.bucket)) {
    s.predictions += r.n;
    s.directional += r.directional;
    s.hits += r.hits;
    ret += r.followed;
    brierSum += r.brierSum;
    brierN += r.brierN;
    if (r.bucket >= 0 && r.directional > 0)
      s.calibration.push({
        from: r.bucket / buckets,
        to: (r.bucket + 1) / buckets,
        n: r.directional,
        meanConfidence: r.conf / r.directional,
        hitRate: r.hits / r.directional,
      });
  }
  if (s.directional > 0) {
    s.hitRate = s.hits / s.directional;
    s.meanReturn = ret / s.directional;
  }
  if (brierN > 0) s.brier = brierSum / brierN;
  return s;
}

/**
 * Streaming: predictions wait for the candle that closes exactly at their horizon (ts + horizon × timeframe)
 * and are scored against that close, as the trainers label them. When that candle never comes (a gap in the
 * data, downtime, a halted venue) the first close after the horizon shows it: the prediction is `missed`,
 * not scored against a close hours later (not even one bar late: that would be another horizon).
 */
export class OutcomeTracker {
  private pending: Array<{ due: number; p: PredictionRecord }> = [];
  private nextDue = Infinity;

  constructor(private readonly timeframeMs: number) {}

  add(p: PredictionRecord): void {
    const due = p.ts + p.horizon * this.timeframeMs;
    this.pending.push({ due, p });
    if (due < this.nextDue) this.nextDue = due;
  }

  /** A candle closed at `closeTs` (its close time) with `close`: the outcomes it resolved, the predictions whose horizon candle is missing. */
  onClose(closeTs: number, close: number): { scored: Outcome[]; missed: PredictionRecord[] } {
    if (this.nextDue > closeTs) return { scored: [], missed: [] };
    const scored: Outcome[] = [];
    const missed: PredictionRecord[] = [];
    const keep: typeof this.pending = [];
    this.nextDue = Infinity;
    for (const x of this.pending) {
      if (x.due === closeTs) scored.push(scoreOutcome(x.p, close));
      else if (x.due < closeTs) missed.push(x.p);
      else {
        keep.push(x);
        if (x.due < this.nextDue) this.nextDue = x.due;
      }
    }
    this.pending = keep;
    return { scored, missed };
  }

  get waiting(): number {
    return this.pending.length;
  }
}
