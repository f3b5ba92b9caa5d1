// The journal's prepared statements, made once per connection. The hot writes (fills, positions,
// decisions, alerts, orders, equity, per-candle progress) bind straight to better-sqlite3: drizzle's prepared
// statements re-encode every parameter (~5 µs a row), most of a backtest's cost. The SQL names the
// same drizzle tables; every read still goes through drizzle.
import type Database from 'better-sqlite3';
import { and, asc, desc, eq, gte, lt, sql } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import * as s from './schema.ts';
import type { StateStore } from './state-keys.ts';

// runtime_state.value is drizzle's json column: JSON text, written and parsed the same way everywhere.
const SET_STATE_SQL = `insert into runtime_state (key, value, updated_at) values (?, ?, ?)
       on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at`;
const GET_STATE_SQL = `select value from runtime_state where key = ?`;

/**
 * runtime_state of a journal file opened directly, without a Journal (ops on a stopped bot's journal: a
 * restore): the same rows, keys (STATE) and JSON as the running bot's.
 */
export function rawStateStore(raw: Database.Database): StateStore {
  const get = raw.prepare(GET_STATE_SQL).pluck();
  const set = raw.prepare(SET_STATE_SQL);
  return {
    getState: <T>(key: string, fallback: T): T => {
      const text = get.get(key) as string | undefined;
      return text === undefined ? fallback : (JSON.parse(text) as T);
    },
    setState: (key, value, ts) => void set.run(key, JSON.stringify(value), ts),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;

export function prepareStatements(raw: Database.Database, db: BetterSQLite3Database) {
  const p = sql.placeholder;
  return {
    rawInsertFill: raw.prepare(
      `insert into fills (venue, trade_id, client_order_id, exchange_order_id, symbol, side, price, qty, fee, fee_currency, liquidity, ts, realized_pnl, cash_delta)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing`,
    ),
    rawOpenPosition: raw.prepare(
      `insert into positions (symbol, side, status, qty, max_qty, entry_price, leverage, margin, liquidation_price, stop_loss, take_profit, realized_pnl, fees, opened_at, strategy)
       values (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    rawDecision: raw.prepare(
      `insert into decisions (ts, symbol, strategy, action, price, reason, confidence, features, requested_qty, verdict, verdict_rule, verdict_reason, final_qty, approval)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'none')`,
    ),
    rawDecisionOrder: raw.prepare(`update decisions set client_order_id = ? where id = ?`),
    rawDecisionApproval: raw.prepare(`update decisions set approval = ? where id = ?`),
    rawAlert: raw.prepare(`insert into alerts (ts, type, severity, title, message, data, count, delivery) values (?, ?, ?, ?, ?, ?, ?, ?)`),
    // Every chat command writes one (/status included): built and prepared once, not per command.
    rawCommand: raw.prepare(
      `insert into commands (ts, transport, user_id, user_name, role, command, args, outcome, detail) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    rawInsertOrder: raw.prepare(
      `insert into orders (client_order_id, venue, symbol, side, type, tif, qty, quote_qty, price, stop_price, reduce_only, leverage, stop_loss, take_profit, status, purpose, decision_id, created_at, updated_at, trail_pct)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    rawUpdateOrder: raw.prepare(
      `update orders set status = ?, exchange_order_id = ?, filled_qty = ?, avg_price = ?, fee = ?, reason = ?, updated_at = ? where client_order_id = ?`,
    ),
    rawOrderEvent: raw.prepare(`insert into order_events (client_order_id, ts, from_status, to_status, detail) values (?, ?, ?, ?, ?)`),
    rawCancelAsked: raw.prepare(
      `select detail from order_events where client_order_id = ? and detail like 'cancel asked: %' order by id desc limit 1`,
    ),
    rawGetOrder: raw.prepare(
      `select id, client_order_id as clientOrderId, exchange_order_id as exchangeOrderId, venue, symbol, side, type, tif, qty,
              quote_qty as quoteQty, price, stop_price as stopPrice, reduce_only as reduceOnly, leverage, stop_loss as stopLoss,
              take_profit as takeProfit, status, filled_qty as filledQty, avg_price as avgPrice, fee, reason, purpose,
              decision_id as decisionId, created_at as createdAt, updated_at as updatedAt, trail_pct as trailPct
       from orders where client_order_id = ?`,
    ),
    rawAlertDelivery: raw.prepare(`insert into alert_deliveries (alert_id, channel, status, ts, detail) values (?, ?, ?, ?, ?)`),
    rawSetAlertDelivery: raw.prepare(`update alerts set delivery = ? where id = ?`),
    rawSetState: raw.prepare(SET_STATE_SQL),
    rawGetState: raw.prepare(GET_STATE_SQL).pluck(),
    rawClosePosition: raw.prepare(
      `update positions set status = 'closed', qty = 0, exit_price = ?, realized_pnl = ?, fees = ?, closed_at = ?, exit_reason = ? where id = ?`,
    ),
    // A closing trade's exit fills: the opposite side, since it opened (one position per symbol).
    rawAverageExit: raw
      .prepare(`select sum(price * qty) / sum(qty) from fills where symbol = ? and side = ? and ts >= ? and ts <= ?`)
      .pluck(),
    // Once per trade event (a fill, a stop moved): drizzle's placeholders cost ~10 µs a fill in a replay's profile.
    rawUpdatePosition: raw.prepare(
      `update positions set qty = ?, max_qty = ?, entry_price = ?, margin = ?, leverage = ?, liquidation_price = ?, stop_loss = ?,
              take_profit = ?, realized_pnl = ?, fees = ? where id = ?`,
    ),
    recordDataEvent: db
      .insert(s.dataEvents)
      .values({
        ts: p('ts'),
        symbol: p('symbol'),
        timeframe: p('timeframe'),
        candleTs: p('candleTs'),
        kind: p('kind'),
        severity: p('severity'),
        detail: p('detail'),
      })
      .prepare(),
    rawRecordEquity: raw.prepare(`insert into equity_snapshots (ts, equity, cash, unrealized_pnl, exposure) values (?, ?, ?, ?, ?)`),
    // The paper venue's books (paper_* tables): a paper fill writes a handful of rows on the decision path.
    paperBalance: raw.prepare(
      `insert into paper_balances (asset, free, locked) values (?, ?, ?)
       on conflict (asset) do update set free = excluded.free, locked = excluded.locked`,
    ),
    paperOrder: raw.prepare(
      `insert into paper_orders (client_order_id, exchange_order_id, symbol, status, "order", updated_at) values (?, ?, ?, ?, ?, ?)
       on conflict (client_order_id) do update set status = excluded.status, "order" = excluded."order", updated_at = excluded.updated_at`,
    ),
    paperFill: raw.prepare(
      `insert into paper_fills (trade_id, client_order_id, symbol, ts, fill) values (?, ?, ?, ?, ?) on conflict do nothing`,
    ),
    paperPosition: raw.prepare(
      `insert into paper_positions (symbol, position) values (?, ?) on conflict (symbol) do update set position = excluded.position`,
    ),
    paperClosePosition: raw.prepare(`delete from paper_positions where symbol = ?`),
    paperGetOrder: raw.prepare(`select "order" as o from paper_orders where client_order_id = ?`),
  };
}

export type Reads = ReturnType<typeof prepareReads>;

/**
 * The reads every scheduled report makes (a replay makes ~100 of them), prepared once on first use:
 * built per call, drizzle's query building and SQLite's prepare were 40 % of a report's time.
 * `limit` -1 is SQLite's "no limit".
 */
export function prepareReads(db: BetterSQLite3Database) {
  const p = sql.placeholder;
  return {
    fillsBetween: db
      .select()
      .from(s.fills)
      .where(and(gte(s.fills.ts, p('since')), lt(s.fills.ts, p('until'))))
      .orderBy(asc(s.fills.ts), asc(s.fills.id))
      .limit(p('limit'))
      .prepare(),
    closedSince: db
      .select()
      .from(s.positions)
      .where(and(eq(s.positions.status, 'closed'), gte(s.positions.closedAt, p('since'))))
      .orderBy(desc(s.positions.closedAt), desc(s.positions.id))
      .limit(p('limit'))
      .prepare(),
    equityBetween: db
      .select()
      .from(s.equitySnapshots)
      .where(and(gte(s.equitySnapshots.ts, p('since')), lt(s.equitySnapshots.ts, p('until'))))
      .orderBy(asc(s.equitySnapshots.ts))
      .prepare(),
    equityBefore: db
      .select()
      .from(s.equitySnapshots)
      .where(lt(s.equitySnapshots.ts, p('ts')))
      .orderBy(desc(s.equitySnapshots.ts))
      .limit(1)
      .prepare(),
  };
}
