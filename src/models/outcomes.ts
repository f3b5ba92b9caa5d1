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

/** Per (model, version), in first-seen order. */
export function summarize(outcomes: Iterable<Outcome>, buckets = 10): ModelScore[] {
  interface Acc {
    s: ModelScore;
    ret: number;
    brierSum: number;
    brierN: number;
    b: Array<{ n: number; conf: number; hits: number }>;
  }
  const by = new Map<string, Acc>();
  for (const o of outcomes) {
    const p = o.prediction;
    const key = `${p.model}\u0000${p.version}`;
    let a = by.get(key);
    if (a === undefined) {
      a = {
        s: {
          model: p.model,
          version: p.version,
          predictions: 0,
          directional: 0,
          hits: 0,
          hitRate: NaN,
          meanReturn: NaN,
          brier: NaN,
          calibration: [],
        },
        ret: 0,
        brierSum: 0,
        brierN: 0,
        b: Array.from({ length: buckets }, () => ({ n: 0, conf: 0, hits: 0 })),
      };
      by.set(key, a);
    }
    a.s.predictions++;
    if (o.brier !== null) {
      a.brierSum += o.brier;
      a.brierN++;
    }
    if (o.hit === null) continue;
    a.s.directional++;
    if (o.hit) a.s.hits++;
    a.ret += o.followed!;
    const c = Math.min(1, Math.max(0, p.confidence));
    const bucket = a.b[Math.min(buckets - 1, Math.floor(c * buckets))]!;
    bucket.n++;
    bucket.conf += c;
    if (o.hit) bucket.hits++;
  }
  return [...by.values()].map((a) => {
    const s = a.s;
    if (s.directional > 0) {
      s.hitRate = s.hits / s.directional;
      s.meanReturn = a.ret / s.directional;
    }
    if (a.brierN > 0) s.brier = a.brierSum / a.brierN;
    s.calibration = a.b.flatMap((b, i) =>
      b.n === 0 ? [] : [{ from: i / buckets, to: (i + 1) / buckets, n: b.n, meanConfidence: b.conf / b.n, hitRate: b.hits / b.n }],
    );
    return s;
  });
}

/**
 * Streaming: predictions wait until a candle closes at or after their horizon (ts + horizon × timeframe), then
 * are scored against that close. `onClose` returns the outcomes it resolved.
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

  /** A candle closed at `closeTs` (its close time) with `close`. */
  onClose(closeTs: number, close: number): Outcome[] {
    if (this.nextDue > closeTs) return [];
    const done: Outcome[] = [];
    const keep: typeof this.pending = [];
    this.nextDue = Infinity;
    for (const x of this.pending) {
      if (x.due <= closeTs) done.push(scoreOutcome(x.p, close));
      else {
        keep.push(x);
        if (x.due < this.nextDue) this.nextDue = x.due;
      }
    }
    this.pending = keep;
    return done;
  }

  get waiting(): number {
    return this.pending.length;
  }
}
