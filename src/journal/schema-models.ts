// Journal tables of the model strategies (re-exported by schema.ts, so drizzle-kit sees them).
import { sqliteTable, integer, real, text, index } from 'drizzle-orm/sqlite-core';

const json = <T>(name: string) => text(name, { mode: 'json' }).$type<T>();

/** Every member model's prediction on a candle, scored once its horizon has passed (candle time). */
export const modelPredictions = sqliteTable(
  'model_predictions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** Close time of the candle predicted on. */
    ts: integer('ts').notNull(),
    symbol: text('symbol').notNull(),
    model: text('model').notNull(),
    version: integer('version').notNull(),
    action: text('action').notNull(),
    confidence: real('confidence').notNull(),
    /** Probabilities over [sell, hold, buy]. */
    pSell: real('p_sell'),
    pHold: real('p_hold'),
    pBuy: real('p_buy'),
    value: real('value'),
    horizon: integer('horizon').notNull(),
    threshold: real('threshold').notNull(),
    price: real('price').notNull(),
    /** Set when scored: close `horizon` bars later, its return, direction hit (1/0, null for hold), Brier. */
    exitPrice: real('exit_price'),
    ret: real('ret'),
    hit: integer('hit'),
    brier: real('brier'),
    /** Set instead when the candle at the horizon never came (a gap, downtime): the close time of the one that came next. */
    missed: integer('missed'),
  },
  (t) => [
    index('model_predictions_model').on(t.model, t.version),
    index('model_predictions_open').on(t.exitPrice, t.symbol),
    // The reports' per-period hit rates (ModelJournal.talliesBetween).
    index('model_predictions_ts').on(t.ts),
  ],
);

/** The ensemble's decisions that became a signal: each member's output and the features. */
export const modelDecisions = sqliteTable(
  'model_decisions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    ts: integer('ts').notNull(),
    symbol: text('symbol').notNull(),
    strategy: text('strategy').notNull(),
    action: text('action').notNull(),
    confidence: real('confidence').notNull(),
    votes: json<unknown[]>('votes').notNull(),
    features: json<Record<string, number>>('features').notNull(),
  },
  (t) => [index('model_decisions_ts').on(t.ts)],
);

/** Loads, hot swaps, refusals, run-time failures, enable/disable. */
export const modelEvents = sqliteTable('model_events', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  ts: integer('ts').notNull(),
  model: text('model').notNull(),
  type: text('type').notNull(),
  version: integer('version'),
  previous: integer('previous'),
  detail: text('detail').notNull(),
});
