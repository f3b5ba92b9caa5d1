// Every metric the bot exports, defined once. Names follow Prometheus conventions: a `skipper_`
// prefix, base units in the name (`_seconds`, `_bytes`, `_ratio`), `_total` on counters, and only
// bounded label values (symbols and venues from the config, enums from the code — never ids).
// State gauges are read at scrape time (`refresh`); event counters are fed by observer calls or
// read incrementally from the journal (journal-counters.ts).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FeedStatus } from '../market/feed.ts';

export const FEED_STATUSES = ['connecting', 'up', 'down', 'replaying', 'done', 'stopped'] as const satisfies readonly FeedStatus[];

/** Latency buckets for requests and decisions (seconds): 0.1 ms … 30 s. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the scrape-time gauges read: the engine's status, feeds, venue, approvals. */
export interface MetricsSnapshot {
  mode: string;
  venue: string;
  environment: string;
  strategy: string;
  quote: string;
  timeframeMs: number;
  /** The engine's clock (candle time in replays, wall time live). */
  now: number;
  equity: number;
  cash: number;
  unrealizedPnl: number;
  todayPnl: number;
  paused: boolean;
  halted: boolean;
  breaker: boolean;
  positions: ReadonlyArray<{ symbol: string; side: string; qty: number; markPrice: number }>;
  liveOrders: ReadonlyArray<{ status: string; purpose?: string | undefined }>;
  lastCandle: Readonly<Record<string, { ts: number }>>;
  feeds: ReadonlyArray<{ symbol: string; status: FeedStatus }>;
  venueUp: boolean;
  approvalsPending: number;
}

export class SkipperMetrics {
  readonly registry = new Registry();
  private readonly r = this.registry;
  private peakEquity = -Infinity;

  // ---- state (scrape time) ----
  readonly info = new Gauge({
    name: 'skipper_info',
    help: 'Always 1; labels say what runs',
    labelNames: ['mode', 'venue', 'environment', 'strategy'],
    registers: [this.r],
  });
  readonly equity = new Gauge({
    name: 'skipper_equity',
    help: 'Account equity in the quote currency',
    labelNames: ['currency'],
    registers: [this.r],
  });
  readonly cash = new Gauge({ name: 'skipper_cash', help: 'Cash in the quote currency', labelNames: ['currency'], registers: [this.r] });
  readonly unrealized = new Gauge({
    name: 'skipper_unrealized_pnl',
    help: 'Unrealized PnL of open positions',
    labelNames: ['currency'],
    registers: [this.r],
  });
  readonly realized = new Gauge({
    name: 'skipper_realized_pnl',
    help: 'Realized PnL of all fills in the journal, fees not deducted',
    labelNames: ['currency'],
    registers: [this.r],
  });
  readonly todayPnl = new Gauge({
    name: 'skipper_today_pnl',
    help: 'PnL since the start of the UTC day',
    labelNames: ['currency'],
    registers: [this.r],
  });
  readonly drawdown = new Gauge({
    name: 'skipper_drawdown_ratio',
    help: 'Drawdown from the highest equity on record (0.05 = 5 %)',
    registers: [this.r],
  });
  readonly openPositions = new Gauge({ name: 'skipper_open_positions', help: 'Open positions', registers: [this.r] });
  readonly positionNotional = new Gauge({
    name: 'skipper_position_notional',
    help: 'Open position size × mark price (negative when short)',
    labelNames: ['symbol'],
    registers: [this.r],
  });
  readonly openOrders = new Gauge({
    name: 'skipper_open_orders',
    help: 'Orders that may still trade, by status and purpose',
    labelNames: ['status', 'purpose'],
    registers: [this.r],
  });
  readonly paused = new Gauge({ name: 'skipper_paused', help: '1 while new entries are paused', registers: [this.r] });
  readonly halted = new Gauge({ name: 'skipper_halted', help: '1 while the daily drawdown halt is on', registers: [this.r] });
  readonly breaker = new Gauge({ name: 'skipper_breaker_tripped', help: '1 while the circuit breaker is tripped', registers: [this.r] });
  readonly feedUp = new Gauge({
    name: 'skipper_feed_up',
    help: '1 while the candle feed is up (or replaying)',
    labelNames: ['symbol'],
    registers: [this.r],
  });
  readonly feedStatus = new Gauge({
    name: 'skipper_feed_status',
    help: 'Feed status, one series per status (1 = current)',
    labelNames: ['symbol', 'status'],
    registers: [this.r],
  });
  readonly candleAge = new Gauge({
    name: 'skipper_candle_age_seconds',
    help: 'Time since the last processed candle closed, on the engine clock (candle time in replays)',
    labelNames: ['symbol'],
    registers: [this.r],
  });
  readonly venueUp = new Gauge({
    name: 'skipper_venue_up',
    help: '1 while the venue connection is up',
    labelNames: ['venue'],
    registers: [this.r],
  });
  readonly approvalsPending = new Gauge({
    name: 'skipper_approvals_pending',
    help: 'Trade proposals waiting for a decision',
    registers: [this.r],
  });

  // ---- events ----
  readonly fills = new Counter({ name: 'skipper_fills_total', help: 'Fills booked', labelNames: ['symbol', 'side'], registers: [this.r] });
  readonly fees = new Counter({ name: 'skipper_fees_total', help: 'Fees paid on fills', labelNames: ['symbol'], registers: [this.r] });
  readonly verdicts = new Counter({
    name: 'skipper_risk_verdicts_total',
    help: 'Risk verdicts by outcome and rule',
    labelNames: ['verdict', 'rule'],
    registers: [this.r],
  });
  readonly reconciliations = new Counter({
    name: 'skipper_reconciliations_total',
    help: 'Reconciliations with the venue by trigger and result',
    labelNames: ['trigger', 'status'],
    registers: [this.r],
  });
  readonly approvals = new Counter({
    name: 'skipper_approvals_total',
    help: 'Decided trade proposals by outcome',
    labelNames: ['outcome'],
    registers: [this.r],
  });
  readonly candles = new Counter({
    name: 'skipper_candles_processed_total',
    help: 'Candles handed to the engine',
    labelNames: ['symbol'],
    registers: [this.r],
  });
  readonly decision = new Histogram({
    name: 'skipper_decision_duration_seconds',
    help: 'Candle in → decided and orders handed to the venue (one candle, journal commit included)',
    labelNames: ['symbol'],
    buckets: LATENCY_BUCKETS,
    registers: [this.r],
  });
  readonly venueRequests = new Histogram({
    name: 'skipper_venue_request_duration_seconds',
    help: 'REST requests to the venue by endpoint and outcome (count and latency; success rate = ok / all)',
    labelNames: ['venue', 'method', 'endpoint', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [this.r],
  });
  readonly rateLimits = new Counter({
    name: 'skipper_venue_rate_limits_total',
    help: 'Rate-limit refusals from the venue (each one backs the bot off)',
    labelNames: ['venue'],
    registers: [this.r],
  });
  readonly alertsRaised = new Counter({
    name: 'skipper_alerts_raised_total',
    help: 'Alerts raised (before coalescing)',
    labelNames: ['type', 'severity'],
    registers: [this.r],
  });
  readonly alertsCoalesced = new Counter({
    name: 'skipper_alerts_coalesced_total',
    help: 'Alerts folded into an earlier identical one',
    labelNames: ['type'],
    registers: [this.r],
  });
  readonly alertDeliveries = new Counter({
    name: 'skipper_alert_deliveries_total',
    help: 'Alert deliveries per channel: sent, failed, or dropped by the storm guard',
    labelNames: ['channel', 'outcome'],
    registers: [this.r],
  });
  readonly modelPredictions = new Counter({
    name: 'skipper_model_predictions_total',
    help: 'Model predictions by model and outcome (hit, miss, pending)',
    labelNames: ['model', 'outcome'],
    registers: [this.r],
  });
  readonly modelHitRatio = new Gauge({
    name: 'skipper_model_hit_ratio',
    help: 'Share of resolved predictions that were right',
    labelNames: ['model'],
    registers: [this.r],
  });

  // ---- operations ----
  readonly heartbeats = new Counter({
    name: 'skipper_heartbeat_pings_total',
    help: 'Dead-man heartbeat pings by outcome',
    labelNames: ['outcome'],
    registers: [this.r],
  });
  readonly loopProgress = new Gauge({
    name: 'skipper_loop_last_progress_timestamp_seconds',
    help: 'Wall time the trading loop last processed a candle (or started)',
    registers: [this.r],
  });
  readonly watchdogStuck = new Gauge({
    name: 'skipper_watchdog_stuck',
    help: '1 while the watchdog sees the trading loop stuck or the event loop stalled',
    registers: [this.r],
  });
  readonly backups = new Counter({
    name: 'skipper_backups_total',
    help: 'Journal backups by outcome',
    labelNames: ['outcome'],
    registers: [this.r],
  });
  readonly lastBackup = new Gauge({
    name: 'skipper_backup_last_success_timestamp_seconds',
    help: 'Wall time of the last good backup',
    registers: [this.r],
  });
  readonly lastBackupSize = new Gauge({
    name: 'skipper_backup_last_size_bytes',
    help: 'Size of the last good backup',
    registers: [this.r],
  });
  readonly escalationPending = new Gauge({
    name: 'skipper_escalation_pending',
    help: '1 while critical alerts wait for an acknowledgement',
    registers: [this.r],
  });
  readonly escalations = new Counter({
    name: 'skipper_escalations_total',
    help: 'Unacknowledged critical alerts escalated, by action taken',
    labelNames: ['action'],
    registers: [this.r],
  });

  constructor() {
    // Process CPU, memory, GC and event-loop lag (nodejs_eventloop_lag_*), under their standard names.
    collectDefaultMetrics({ register: this.r });
  }

  /** Set the state gauges from a snapshot (called at scrape time). */
  refresh(s: MetricsSnapshot, realizedPnl: number): void {
    const currency = s.quote;
    this.info.reset();
    this.info.set({ mode: s.mode, venue: s.venue, environment: s.environment, strategy: s.strategy }, 1);
    this.equity.set({ currency }, s.equity);
    this.cash.set({ currency }, s.cash);
    this.unrealized.set({ currency }, s.unrealizedPnl);
    this.realized.set({ currency }, realizedPnl);
    this.todayPnl.set({ currency }, s.todayPnl);
    if (Number.isFinite(s.equity)) this.peakEquity = Math.max(this.peakEquity, s.equity);
    this.drawdown.set(this.peakEquity > 0 ? Math.max(0, 1 - s.equity / this.peakEquity) : 0);
    this.openPositions.set(s.positions.length);
    this.positionNotional.reset();
    for (const p of s.positions) this.positionNotional.set({ symbol: p.symbol }, (p.side === 'short' ? -1 : 1) * p.qty * p.markPrice);
    this.openOrders.reset();
    for (const o of s.liveOrders) this.openOrders.inc({ status: o.status, purpose: o.purpose ?? 'unknown' });
    this.paused.set(s.paused ? 1 : 0);
    this.halted.set(s.halted ? 1 : 0);
    this.breaker.set(s.breaker ? 1 : 0);
    for (const f of s.feeds) {
      this.feedUp.set({ symbol: f.symbol }, f.status === 'up' || f.status === 'replaying' ? 1 : 0);
      for (const st of FEED_STATUSES) this.feedStatus.set({ symbol: f.symbol, status: st }, st === f.status ? 1 : 0);
    }
    for (const [symbol, c] of Object.entries(s.lastCandle)) {
      if (Number.isFinite(c.ts)) this.candleAge.set({ symbol }, Math.max(0, (s.now - c.ts - s.timeframeMs) / 1000));
    }
    this.venueUp.set({ venue: s.venue }, s.venueUp ? 1 : 0);
    this.approvalsPending.set(s.approvalsPending);
  }

  /** The highest equity on record before this process started (from the journal). */
  seedPeak(equity: number): void {
    if (Number.isFinite(equity)) this.peakEquity = Math.max(this.peakEquity, equity);
  }

  /** Names of every exported series family (histograms as their _bucket/_sum/_count series). */
  seriesNames(): string[] {
    const out: string[] = [];
    for (const m of this.registry.getMetricsAsArray()) {
      const { name, type } = m as unknown as { name: string; type: string };
      if (type === 'histogram') out.push(`${name}_bucket`, `${name}_sum`, `${name}_count`);
      else if (type === 'summary') out.push(name, `${name}_sum`, `${name}_count`);
      else out.push(name);
    }
    return out;
  }
}
