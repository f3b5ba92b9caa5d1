// Reads and writes the model tables (schema-models.ts) on the journal's SQLite handle: predictions and their
// scores, the ensemble's decisions, model events. Prepared once; called on the candle path.
import type Database from 'better-sqlite3';
import type { ModelAction } from './manifest.ts';
import { CALIBRATION_BUCKETS, scoreOf, type BucketSums, type ModelScore, type Outcome, type PredictionRecord } from './outcomes.ts';

export interface PredictionRow extends PredictionRecord {
  id: number;
  symbol: string;
}

export interface VersionTally {
  model: string;
  version: number;
  predictions: number;
  directional: number;
  hits: number;
}

export interface ModelEventRow {
  ts: number;
  model: string;
  type: string;
  version: number | null;
  previous: number | null;
  detail: string;
}

interface RawPrediction {
  id: number;
  ts: number;
  symbol: string;
  model: string;
  version: number;
  action: ModelAction;
  confidence: number;
  p_sell: number | null;
  p_hold: number | null;
  p_buy: number | null;
  value: number | null;
  horizon: number;
  threshold: number;
  price: number;
  exit_price: number | null;
  ret: number | null;
  hit: number | null;
  brier: number | null;
}

const toRecord = (r: RawPrediction): PredictionRow => ({
  id: r.id,
  symbol: r.symbol,
  model: r.model,
  version: r.version,
  ts: r.ts,
  action: r.action,
  confidence: r.confidence,
  ...(r.p_sell !== null ? { dist: [r.p_sell, r.p_hold ?? 0, r.p_buy ?? 0] } : {}),
  ...(r.value !== null ? { value: r.value } : {}),
  horizon: r.horizon,
  threshold: r.threshold,
  price: r.price,
});

export class ModelJournal {
  private readonly s;

  /** The longest label horizon among the journaled predictions (bars); read once, on the first report. */
  private maxHorizon: number | null = null;

  /** `timeframeMs`: the bars the predictions' horizons count (the bot's market.timeframe). */
  constructor(
    private readonly db: Database.Database,
    private readonly timeframeMs: number,
  ) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO model_predictions (ts, symbol, model, version, action, confidence, p_sell, p_hold, p_buy, value, horizon, threshold, price)
         VALUES (@ts, @symbol, @model, @version, @action, @confidence, @pSell, @pHold, @pBuy, @value, @horizon, @threshold, @price)`,
      ),
      score: db.prepare(`UPDATE model_predictions SET exit_price = @exitPrice, ret = @ret, hit = @hit, brier = @brier WHERE id = @id`),
      missed: db.prepare(`UPDATE model_predictions SET missed = ? WHERE id = ?`),
      open: db.prepare(`SELECT * FROM model_predictions WHERE exit_price IS NULL AND missed IS NULL ORDER BY id`),
      // The last `limit` scored predictions of a version, summed per calibration bucket (scoreOf's input).
      summary: db.prepare(
        `SELECT bucket, COUNT(*) AS n, COUNT(hit) AS directional, COALESCE(SUM(hit), 0) AS hits,
           COALESCE(SUM(CASE WHEN hit IS NULL THEN 0 WHEN action = 'buy' THEN ret ELSE -ret END), 0) AS followed,
           COALESCE(SUM(CASE WHEN hit IS NULL THEN 0 ELSE conf END), 0) AS conf,
           COALESCE(SUM(brier), 0) AS brierSum, COUNT(brier) AS brierN
         FROM (SELECT action, ret, hit, brier, MIN(1.0, MAX(0.0, confidence)) AS conf,
                 CASE WHEN hit IS NULL THEN -1 ELSE MIN(@buckets - 1, CAST(MIN(1.0, MAX(0.0, confidence)) * @buckets AS INTEGER)) END AS bucket
               FROM model_predictions WHERE model = @model AND version = @version AND exit_price IS NOT NULL
               ORDER BY id DESC LIMIT @limit)
         GROUP BY bucket`,
      ),
      tally: db.prepare(
        `SELECT model, version, COUNT(*) AS predictions, COUNT(hit) AS directional, COALESCE(SUM(hit), 0) AS hits
         FROM model_predictions WHERE exit_price IS NOT NULL GROUP BY model, version`,
      ),
      // By the end of the horizon (ts + horizon bars): a range of the ts index from the longest horizon before.
      tallyBetween: db.prepare(
        `SELECT model, version, COUNT(*) AS predictions, COUNT(hit) AS directional, COALESCE(SUM(hit), 0) AS hits
         FROM model_predictions WHERE ts >= ? AND ts < ? AND ts + horizon * ? >= ? AND ts + horizon * ? < ? AND exit_price IS NOT NULL
         GROUP BY model, version ORDER BY model, version`,
      ),
      maxHorizon: db.prepare(`SELECT COALESCE(MAX(horizon), 0) AS h FROM model_predictions`),
      last: db.prepare(`SELECT * FROM model_predictions WHERE model = ? ORDER BY id DESC LIMIT 1`),
      decision: db.prepare(
        `INSERT INTO model_decisions (ts, symbol, strategy, action, confidence, votes, features) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      event: db.prepare(
        `INSERT INTO model_events (ts, model, type, version, previous, detail) VALUES (@ts, @model, @type, @version, @previous, @detail)`,
      ),
      events: db.prepare(`SELECT ts, model, type, version, previous, detail FROM model_events ORDER BY id DESC LIMIT ?`),
    };
  }

  /** Writes a prediction; returns it with its row id. */
  addPrediction(symbol: string, p: PredictionRecord): PredictionRow {
    const d = p.dist;
    const r = this.s.insert.run({
      ts: p.ts,
      symbol,
      model: p.model,
      version: p.version,
      action: p.action,
      confidence: p.confidence,
      pSell: d?.[0] ?? null,
      pHold: d?.[1] ?? null,
      pBuy: d?.[2] ?? null,
      value: p.value ?? null,
      horizon: p.horizon,
      threshold: p.threshold ?? 0,
      price: p.price,
    });
    if (this.maxHorizon !== null && p.horizon > this.maxHorizon) this.maxHorizon = p.horizon;
    return { ...p, id: Number(r.lastInsertRowid), symbol };
  }

  score(id: number, o: Outcome): void {
    this.s.score.run({ id, exitPrice: o.exitPrice, ret: o.ret, hit: o.hit === null ? null : o.hit ? 1 : 0, brier: o.brier });
  }

  /** The prediction's horizon candle never came (`closeTs`: the close that came instead): never scored, no longer open. */
  missed(id: number, closeTs: number): void {
    this.s.missed.run(closeTs, id);
  }

  /** Predictions whose horizon had not passed yet (a restart puts them back in the tracker). */
  openPredictions(): PredictionRow[] {
    return (this.s.open.all() as RawPrediction[]).map(toRecord);
  }

  /** The score of a version's last `limit` scored predictions (undefined: none yet). */
  summary(model: string, version: number, limit = 100_000): ModelScore | undefined {
    const rows = this.s.summary.all({ model, version, limit, buckets: CALIBRATION_BUCKETS }) as BucketSums[];
    return rows.length === 0 ? undefined : scoreOf(model, version, rows);
  }

  /**
   * Scored counts per model version of the predictions whose horizon ended in [since, until) (the reports): each
   * call is counted in the period its outcome became known, so a report's figures do not change after it is built.
   * (Counted by the candle they were made on, the calls of a period's last `horizon` bars were in no report.)
   */
  talliesBetween(since: number, until: number): VersionTally[] {
    this.maxHorizon ??= (this.s.maxHorizon.get() as { h: number }).h;
    const tf = this.timeframeMs;
    return this.s.tallyBetween.all(since - this.maxHorizon * tf, until, tf, since, tf, until) as VersionTally[];
  }

  /** Scored counts per model version (the live hit rates after a restart). */
  tallies(): VersionTally[] {
    return this.s.tally.all() as VersionTally[];
  }

  lastPrediction(model: string): PredictionRow | undefined {
    const r = this.s.last.get(model) as RawPrediction | undefined;
    return r === undefined ? undefined : toRecord(r);
  }

  addDecision(
    ts: number,
    symbol: string,
    strategy: string,
    action: string,
    confidence: number,
    votes: unknown[],
    features: Record<string, number>,
  ): void {
    this.s.decision.run(ts, symbol, strategy, action, confidence, JSON.stringify(votes), JSON.stringify(features));
  }

  addEvent(e: ModelEventRow): void {
    this.s.event.run(e);
  }

  recentEvents(limit = 10): ModelEventRow[] {
    return this.s.events.all(limit) as ModelEventRow[];
  }
}
