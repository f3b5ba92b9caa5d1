// A candle's alerts wait for its decision and go out with its transaction (they were ~25 % of the path
// to the order); a critical one goes at once, after what the candle raised before it.
import type { AlertInput, AlertSink } from '../core/alerts.ts';

export class CandleAlerts {
  private readonly waiting: AlertInput[] = [];

  constructor(private readonly sink: AlertSink) {}

  raise(a: AlertInput, inCandle: boolean): void {
    if (!inCandle) return this.sink.raise(a);
    if (a.severity !== 'critical') return void this.waiting.push(a);
    this.flush();
    this.sink.raise(a);
  }

  /** The candle is decided: its alerts go. */
  flush(): void {
    const alerts = this.waiting;
    if (alerts.length === 0) return; // the usual candle: setting an array's length is a runtime call
    for (let i = 0; i < alerts.length; i++) this.sink.raise(alerts[i]!);
    alerts.length = 0;
  }

  /** A candle that threw is rolled back with its alerts. */
  drop(): void {
    if (this.waiting.length !== 0) this.waiting.length = 0;
  }
}
