// The journal: every decision, order, fill, position, command and alert. drizzle-kit generates
// the SQL in migrations/ from this file (`npm run db:generate`); the app applies it at start-up.
import { sqliteTable, integer, real, text, index, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { EXIT_REASON_IDS } from '../core/types.ts';

const json = <T>(name: string) => text(name, { mode: 'json' }).$type<T>();

/** Our orders, keyed by the client order id written before the order leaves the process. */
export const orders = sqliteTable(
  'orders',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    clientOrderId: text('client_order_id').notNull(),
    exchangeOrderId: text('exchange_order_id'),
    venue: text('venue').notNull(),
    symbol: text('symbol').notNull(),
    side: text('side', { enum: ['buy', 'sell'] }).notNull(),
    type: text('type').notNull(),
    tif: text('tif').notNull(),
    qty: real('qty'),
    quoteQty: real('quote_qty'),
    price: real('price'),
    stopPrice: real('stop_price'),
    /** A native trailing stop's distance (a fraction). */
    trailPct: real('trail_pct'),
    reduceOnly: integer('reduce_only', { mode: 'boolean' }).notNull(),
    leverage: real('leverage'),
    /** Bracket of an entry: protective orders placed once it fills. */
    stopLoss: real('stop_loss'),
    takeProfit: real('take_profit'),
    status: text('status').notNull(),
    filledQty: real('filled_qty').notNull().default(0),
    avgPrice: real('avg_price').notNull().default(0),
    fee: real('fee').notNull().default(0),
    reason: text('reason'),
    purpose: text('purpose'),
    decisionId: integer('decision_id'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('orders_client_order_id').on(t.clientOrderId), index('orders_status').on(t.status)],
);

/** Every state change of every order, in order: the order's full history. */
export const orderEvents = sqliteTable(
  'order_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    clientOrderId: text('client_order_id').notNull(),
    ts: integer('ts').notNull(),
    fromStatus: text('from_status'),
    toStatus: text('to_status').notNull(),
    detail: text('detail'),
  },
  (t) => [index('order_events_coid').on(t.clientOrderId)],
);

/** Fills, recorded once per venue trade id however often the venue reports them. */
export const fills = sqliteTable(
  'fills',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    venue: text('venue').notNull(),
    tradeId: text('trade_id').notNull(),
    clientOrderId: text('client_order_id').notNull(),
    exchangeOrderId: text('exchange_order_id'),
    symbol: text('symbol').notNull(),
    side: text('side', { enum: ['buy', 'sell'] }).notNull(),
    price: real('price').notNull(),
    qty: real('qty').notNull(),
    fee: real('fee').notNull(),
    feeCurrency: text('fee_currency').notNull(),
    liquidity: text('liquidity').notNull(),
    ts: integer('ts').notNull(),
    /** PnL this fill realized on the part of a position it closed (fees not deducted). */
    realizedPnl: real('realized_pnl').notNull().default(0),
    /** Change to the quote wallet this fill caused: cash = starting cash + sum(cash_delta) + funding. */
    cashDelta: real('cash_delta').notNull().default(0),
  },
  (t) => [uniqueIndex('fills_venue_trade').on(t.venue, t.tradeId), index('fills_ts').on(t.ts)],
);

/** Positions: one row per position from open to close (the closed ones are the trade history). */
export const positions = sqliteTable(
  'positions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    symbol: text('symbol').notNull(),
    side: text('side', { enum: ['long', 'short'] }).notNull(),
    status: text('status', { enum: ['open', 'closed'] }).notNull(),
    qty: real('qty').notNull(),
    maxQty: real('max_qty').notNull(),
    entryPrice: real('entry_price').notNull(),
    /** The quantity-weighted average of the trade's exit fills (a trade closed in parts: what it got on the whole). */
    exitPrice: real('exit_price'),
    leverage: real('leverage').notNull().default(1),
    margin: real('margin').notNull().default(0),
    liquidationPrice: real('liquidation_price'),
    stopLoss: real('stop_loss'),
    takeProfit: real('take_profit'),
    realizedPnl: real('realized_pnl').notNull().default(0),
    fees: real('fees').notNull().default(0),
    openedAt: integer('opened_at').notNull(),
    closedAt: integer('closed_at'),
    strategy: text('strategy'),
    /** Why it closed (null: closed before this was recorded). */
    exitReason: text('exit_reason', { enum: EXIT_REASON_IDS }),
  },
  // (status, closed_at): the trade history (closed, newest first, a window or a page) reads an index
  // range instead of sorting every closed position; its rowid tail orders equal times by id.
  (t) => [index('positions_status_closed_at').on(t.status, t.closedAt), index('positions_closed_at').on(t.closedAt)],
);

/** Each signal the engine acted on (or refused to), with features/model outputs and the risk verdict. */
export const decisions = sqliteTable(
  'decisions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    ts: integer('ts').notNull(),
    symbol: text('symbol').notNull(),
    strategy: text('strategy').notNull(),
    action: text('action').notNull(),
    price: real('price').notNull(),
    reason: text('reason').notNull(),
    confidence: real('confidence'),
    features: json<Record<string, number>>('features'),
    requestedQty: real('requested_qty'),
    verdict: text('verdict', { enum: ['accept', 'resize', 'reject'] }).notNull(),
    verdictRule: text('verdict_rule').notNull(),
    verdictReason: text('verdict_reason').notNull(),
    finalQty: real('final_qty'),
    clientOrderId: text('client_order_id'),
    /** none | pending | approved | rejected | expired */
    approval: text('approval').notNull().default('none'),
  },
  (t) => [index('decisions_ts').on(t.ts)],
);

export const equitySnapshots = sqliteTable(
  'equity_snapshots',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    ts: integer('ts').notNull(),
    equity: real('equity').notNull(),
    cash: real('cash').notNull(),
    unrealizedPnl: real('unrealized_pnl').notNull(),
    exposure: real('exposure').notNull(),
  },
  (t) => [index('equity_ts').on(t.ts)],
);

/** Audit trail: every command and button press, allowed or refused. */
export const commandsAudit = sqliteTable(
  'commands',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    ts: integer('ts').notNull(),
    transport: text('transport').notNull(),
    userId: text('user_id').notNull(),
    userName: text('user_name'),
    role: text('role'),
    command: text('command').notNull(),
    args: text('args'),
    /** ok | refused | invalid | error | confirm | confirmed | cancelled */
    outcome: text('outcome').notNull(),
    detail: text('detail'),
  },
  (t) => [index('commands_ts').on(t.ts)],
);

export const alerts = sqliteTable(
  'alerts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    ts: integer('ts').notNull(),
    type: text('type').notNull(),
    severity: text('severity').notNull(),
    title: text('title').notNull(),
    message: text('message').notNull(),
    data: json<Record<string, unknown>>('data'),
    /** How many alerts this row stands for (a summary of repeats counts them all). */
    count: integer('count').notNull().default(1),
    /** Overall outcome, from alert_deliveries: none | muted | coalesced | pending | sent | partial | dropped | failed */
    delivery: text('delivery').notNull().default('none'),
  },
  (t) => [index('alerts_ts').on(t.ts)],
);

/** What happened to an alert on each channel it was routed to (console, a Telegram chat, a Discord channel). */
export const alertDeliveries = sqliteTable(
  'alert_deliveries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    alertId: integer('alert_id').notNull(),
    /** e.g. console, telegram:-1001234, discord:1111 */
    channel: text('channel').notNull(),
    /** sent | failed | dropped (storm guard; counted in the storm summary) */
    status: text('status').notNull(),
    ts: integer('ts').notNull(),
    detail: text('detail'),
  },
  (t) => [index('alert_deliveries_alert').on(t.alertId)],
);

/** Small key/value state that must survive restarts: paused, halted, approvals mode, counters. */
export const runtimeState = sqliteTable('runtime_state', {
  key: text('key').primaryKey(),
  value: json<unknown>('value').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Data-quality events: bad candles, gaps, feed outages. */
export const dataEvents = sqliteTable(
  'data_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    ts: integer('ts').notNull(),
    symbol: text('symbol').notNull(),
    timeframe: text('timeframe').notNull(),
    candleTs: integer('candle_ts'),
    kind: text('kind').notNull(),
    severity: text('severity').notNull(),
    detail: text('detail').notNull(),
  },
  (t) => [index('data_events_ts').on(t.ts)],
);

/** Trade-confirmation prompts. Pending ones survive restarts; stale ones expire. */
export const proposals = sqliteTable(
  'proposals',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    nonce: text('nonce').notNull(),
    decisionId: integer('decision_id').notNull(),
    symbol: text('symbol').notNull(),
    payload: json<Record<string, unknown>>('payload').notNull(),
    status: text('status', { enum: ['pending', 'approved', 'rejected', 'expired', 'withdrawn', 'failed'] }).notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    decidedBy: text('decided_by'),
    decidedAt: integer('decided_at'),
    detail: text('detail'),
    /** Where the prompt was posted ({transport, chatId, messageId}[]) so every copy can be edited. */
    messages: json<Array<Record<string, string>>>('messages').notNull().default([]),
  },
  (t) => [index('proposals_status').on(t.status)],
);

/** What reconciliation found and did, each run. */
export const reconciliations = sqliteTable('reconciliations', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  ts: integer('ts').notNull(),
  trigger: text('trigger').notNull(),
  status: text('status', { enum: ['ok', 'fixed', 'halted', 'failed'] }).notNull(),
  summary: text('summary').notNull(),
  details: json<Record<string, unknown>>('details'),
});

export const fundingPayments = sqliteTable(
  'funding_payments',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    venue: text('venue').notNull(),
    paymentId: text('payment_id').notNull(),
    symbol: text('symbol').notNull(),
    amount: real('amount').notNull(),
    rate: real('rate'),
    ts: integer('ts').notNull(),
  },
  (t) => [uniqueIndex('funding_venue_payment').on(t.venue, t.paymentId)],
);

// The paper exchange's own books. It is a venue: the engine's tables above are the bot's view of
// it, and reconciliation compares the two exactly as it does with a real exchange.
export const paperBalances = sqliteTable('paper_balances', {
  asset: text('asset').primaryKey(),
  free: real('free').notNull(),
  locked: real('locked').notNull(),
});

export const paperOrders = sqliteTable(
  'paper_orders',
  {
    clientOrderId: text('client_order_id').primaryKey(),
    exchangeOrderId: text('exchange_order_id').notNull(),
    symbol: text('symbol').notNull(),
    status: text('status').notNull(),
    order: json<Record<string, unknown>>('order').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('paper_orders_status').on(t.status)],
);

export const paperFills = sqliteTable(
  'paper_fills',
  {
    tradeId: text('trade_id').primaryKey(),
    clientOrderId: text('client_order_id').notNull(),
    symbol: text('symbol').notNull(),
    ts: integer('ts').notNull(),
    fill: json<Record<string, unknown>>('fill').notNull(),
  },
  (t) => [index('paper_fills_ts').on(t.symbol, t.ts)],
);

export const paperPositions = sqliteTable('paper_positions', {
  symbol: text('symbol').primaryKey(),
  position: json<Record<string, unknown>>('position').notNull(),
});

/** TWAP/iceberg parents: children are `orders` rows whose client order id is `<parent id>-<slice>`. */
export const parentOrders = sqliteTable(
  'parent_orders',
  {
    id: text('id').primaryKey(),
    symbol: text('symbol').notNull(),
    side: text('side', { enum: ['buy', 'sell'] }).notNull(),
    algo: text('algo', { enum: ['twap', 'iceberg'] }).notNull(),
    totalQty: real('total_qty').notNull(),
    slices: integer('slices').notNull(),
    intervalMs: integer('interval_ms').notNull(),
    visibleQty: real('visible_qty'),
    limitOffsetBps: real('limit_offset_bps').notNull().default(0),
    /** Slices journaled so far (the next child is `<id>-<sent + 1>`). */
    sent: integer('sent').notNull().default(0),
    nextAt: integer('next_at').notNull(),
    status: text('status', { enum: ['active', 'done', 'cancelled', 'stopped'] }).notNull(),
    reason: text('reason'),
    createdBy: text('created_by').notNull(),
    /** The strategy decision this parent carries out (a split strategy entry); null: a chat order. */
    decisionId: integer('decision_id'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('parent_orders_status').on(t.status)],
);
export * from './schema-models.ts';
