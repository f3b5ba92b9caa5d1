// Alert vocabulary. Producers (engine, feed, exchange, risk) only call `AlertSink.raise`;
// the alert service in src/alerts journals, coalesces, mutes and routes them.
import { splitSymbol } from './symbols.ts';

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const ALERT_TYPES = [
  'order_filled',
  'order_rejected',
  'position_opened',
  'position_closed',
  'stop_hit',
  'risk_halt',
  'circuit_breaker',
  'bad_candle',
  'data_gap',
  'feed_down',
  'feed_up',
  'exchange_down',
  'exchange_up',
  'approval_pending',
  'approval_expired',
  'reconciliation',
  'watchdog',
  'escalation',
  'backup',
  'daily_report',
  'engine',
  'error',
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

/** Types raised only as critical (a tripped breaker): a mute of one would silence nothing. */
export const ALWAYS_CRITICAL: readonly AlertType[] = ['circuit_breaker'];

/**
 * The numbers an alert is about, so repeats can be summed up (total size, total PnL, price range)
 * instead of parsed from text. Money is in `ccy`, sizes in `unit`.
 */
export interface AlertFigures {
  qty?: number;
  price?: number;
  /** Net PnL (after fees) of a closed position. */
  pnl?: number;
  fee?: number;
  /** Size unit (base asset), e.g. BTC. */
  unit?: string;
  /** Currency of pnl and fee, e.g. USDT. */
  ccy?: string;
}

/** A trade's figures in its market's units: size in the base asset, money in the quote. */
export function tradeFigures(symbol: string, f: AlertFigures): AlertFigures {
  const [unit, ccy] = splitSymbol(symbol);
  return { unit, ccy, ...f };
}

export interface AlertInput {
  type: AlertType;
  severity: AlertSeverity;
  title: string;
  message: string;
  /** Identical keys within the coalescing window become one alert with a count. Defaults to type+title. */
  key?: string;
  data?: Record<string, unknown>;
  figures?: AlertFigures;
}

export interface Alert extends AlertInput {
  ts: number;
}

export interface AlertSink {
  raise(alert: AlertInput): void;
}

/** Collects alerts in memory; used by tests and by backtests that want them in the report. */
export class MemoryAlertSink implements AlertSink {
  readonly alerts: AlertInput[] = [];
  raise(alert: AlertInput): void {
    this.alerts.push(alert);
  }
}

export const NULL_ALERTS: AlertSink = { raise() {} };
