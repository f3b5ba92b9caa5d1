// PLACEHOLDER — replaced by the report service (croner schedules, daily/weekly/monthly PnL, charts).
import type { Config } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Engine } from '../engine/engine.ts';
import type { Journal } from '../journal/journal.ts';
import type { ReportControls } from '../chat/services.ts';
import type { Notifier } from '../chat/transport.ts';

export interface ReportServiceOptions {
  journal: Journal;
  engine: Engine;
  notifier: Notifier;
  /** Wall clock: schedules run on real time. */
  clock: Clock;
  log: Logger;
  config: Config['reports'];
}

export class ReportService implements ReportControls {
  constructor(readonly opts: ReportServiceOptions) {}
  start(): void {}
  stop(): void {}
  async chart(_kind: 'equity' | 'pnl', _days: number): Promise<Buffer | null> {
    return null;
  }
}
