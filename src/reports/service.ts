// Scheduled PnL reports: daily/weekly/monthly in the configured timezone; each report covers the
// period that just ended (from the previous scheduled time to this one). One clock decides the
// periods: the trading clock. Live, croner fires on wall time; in a replay, candle time crossing a
// scheduled time sends that period's report (the feed loop calls poll()). The last period sent per
// kind lives in the journal's runtime state, so a run missed while the bot was down is sent once
// at the next start, and no period is ever sent twice, across restarts too.
import { Cron } from 'croner';
import type { Config } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Engine } from '../engine/engine.ts';
import type { Journal } from '../journal/journal.ts';
import { STATE, type SentState } from '../journal/state-keys.ts';

export type { SentState };
import type { ReportControls } from '../chat/services.ts';
import type { BroadcastOutcome, Notifier } from '../chat/transport.ts';
import { deliveryDetail, settleDelivery } from '../alerts/service.ts';
import type { Reply } from '../chat/types.ts';
import { buildPeriodReport, renderChart, type ModelScores, type ReportKind, type ReportSource } from './build.ts';
import { Schedule, type Period } from './periods.ts';

export type { ReportKind };
export const REPORT_KINDS: readonly ReportKind[] = ['daily', 'weekly', 'monthly'];

export interface ReportServiceOptions {
  journal: Journal;
  engine: Engine;
  notifier: Notifier;
  /** The trading clock: it decides report periods (candle time in a replay, wall time live). */
  clock: Clock;
  /** When reports were sent (journal stamps); default `clock`. */
  wall?: Clock;
  /** Replays: periods end when candle time crosses them (poll() after each candle), not on a timer. */
  candleTime?: boolean;
  log: Logger;
  config: Config['reports'];
  /** A model strategy's scored predictions: the reports' Models section. */
  models?: ModelScores;
  /** Waits before posting a report again to a transport that failed to take it (default REPORT_RETRY_MS). */
  retryMs?: readonly number[];
}

export interface SentReport {
  kind: ReportKind;
  period: Period;
  reply: Reply;
}

const REPORT_TOPIC = { type: 'daily_report', severity: 'info' } as const;
/** A report a transport failed to take goes to it again after these waits (wall time), then no more. */
const REPORT_RETRY_MS = [60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000];

/** The transports that failed to take a broadcast. */
const failedIn = (outcomes: readonly BroadcastOutcome[]): Set<string> =>
  new Set(outcomes.filter((o) => o.error !== undefined).map((o) => o.transport));

/** In a replay, how many periods of one kind a single catch-up sends at most (a long gap in the data). */
const MAX_CATCH_UP = 31;
/** After a replay, candle time may keep moving without candles: look for due periods this often. */
const CANDLE_POLL_MS = 30_000;

export class ReportService implements ReportControls {
  private schedules: Record<ReportKind, Schedule>;
  private source: ReportSource;
  private jobs: Cron[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  /** Candle time: the next scheduled instant of any kind (poll() does nothing before it). */
  private nextDueAt = 0;
  private stopped = false;
  /** Posting a report again to the transports that failed to take it (retryLater). */
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Sends run one at a time, so a cron tick and the start-up catch-up never race. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly opts: ReportServiceOptions) {
    const c = opts.config;
    const tz = c.timezone;
    // Invalid patterns or timezones fail here, at bot construction, with the config key in the message.
    this.schedules = {
      daily: new Schedule(c.dailyCron, tz, 'reports.dailyCron'),
      weekly: new Schedule(c.weeklyCron, tz, 'reports.weeklyCron'),
      monthly: new Schedule(c.monthlyCron, tz, 'reports.monthlyCron'),
    };
    const wall = opts.wall ?? opts.clock;
    this.source = {
      journal: opts.journal,
      engine: opts.engine,
      timezone: tz,
      charts: c.charts,
      wallNow: () => wall.now(),
      ...(opts.models ? { models: opts.models } : {}),
    };
  }

  private get wallNow(): number {
    return (this.opts.wall ?? this.opts.clock).now();
  }

  /** Start the cron jobs and send reports missed while the bot was down (on candle time: at the first candle). */
  start(): void {
    this.stopped = false;
    if (this.opts.candleTime) {
      if (!this.pollTimer) {
        this.pollTimer = setInterval(() => this.poll(), CANDLE_POLL_MS);
        this.pollTimer.unref();
      }
      return;
    }
    if (this.jobs.length) return;
    const tz = this.opts.config.timezone;
    for (const kind of REPORT_KINDS) {
      // croner never fires before the scheduled time, so runDue sees this run as due.
      const job = new Cron(this.schedules[kind].pattern, { timezone: tz, unref: true }, () => {
        void this.runDue([kind]).catch((e: unknown) => this.opts.log.error({ err: e, kind }, 'scheduled report failed'));
      });
      this.jobs.push(job);
    }
    void this.runDue().catch((e: unknown) => this.opts.log.error({ err: e }, 'catching up on missed reports failed'));
  }

  /** Config reload: schedules, time zone and charts from `opts.config` (changed in place) from now on. */
  reschedule(): void {
    const fresh = new ReportService(this.opts);
    this.schedules = fresh.schedules;
    this.source = fresh.source;
    this.nextDueAt = 0;
    if (this.stopped) return;
    this.stop();
    this.start();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    for (const j of this.jobs) j.stop();
    this.jobs = [];
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  /**
   * Candle time: send the reports whose scheduled time the trading clock has just crossed. Called
   * after every candle, so it is one comparison unless a period has ended.
   */
  poll(): void {
    if (!this.opts.candleTime || this.stopped) return;
    const now = this.opts.clock.now();
    if (now <= 0 || now < this.nextDueAt) return;
    this.nextDueAt = Math.min(...REPORT_KINDS.map((k) => this.schedules[k].after(now) ?? Infinity));
    void this.runDue(REPORT_KINDS, now).catch((e: unknown) => this.opts.log.error({ err: e }, 'scheduled report failed'));
  }

  /** The period a report sent at scheduled time `end` covers: from the previous scheduled time. */
  periodEndingAt(kind: ReportKind, end: number): Period {
    const start = this.schedules[kind].before(end) ?? end;
    return { start, end };
  }

  /** The latest scheduled time at or before `at` (default: the trading clock's now). */
  latestDue(kind: ReportKind, at = this.opts.clock.now()): number | null {
    return this.schedules[kind].atOrBefore(at);
  }

  lastSent(kind: ReportKind): SentState | null {
    return STATE.reportSent(kind).read(this.opts.journal);
  }

  /**
   * Send each report whose latest scheduled period (as of `at`) has not been sent yet (the cron
   * tick, and the catch-up at start). Live, only the most recent missed period is sent: a bot down
   * for a week sends one daily report, not seven. In a replay every period candle time has crossed
   * is sent, in order (up to MAX_CATCH_UP per kind). On the very first start there is nothing to
   * catch up on: the latest scheduled time becomes the baseline.
   */
  runDue(kinds: readonly ReportKind[] = REPORT_KINDS, at = this.opts.clock.now()): Promise<SentReport[]> {
    return this.enqueue(async () => {
      const sent: SentReport[] = [];
      if (this.stopped) return sent; // queued before a shutdown: the journal may be closing
      for (const kind of kinds) {
        const due = this.latestDue(kind, at);
        if (due === null) continue;
        const last = this.lastSent(kind);
        if (!last) {
          const now = this.wallNow;
          STATE.reportSent(kind).write(this.opts.journal, { periodEnd: due, at: now, baseline: true }, now);
          continue;
        }
        if (due <= last.periodEnd) continue;
        const ends = this.opts.candleTime ? this.endsBetween(kind, last.periodEnd, due) : [due];
        let lastEnd = last.periodEnd;
        for (const end of ends) {
          try {
            const r = await this.sendUnlocked(kind, this.periodEndingAt(kind, end), lastEnd);
            if (r) sent.push(r);
            lastEnd = end;
          } catch (e) {
            // One failing report must not hold back the other kinds; the next run tries again.
            this.opts.log.error({ err: e, kind }, 'report failed');
            break;
          }
        }
      }
      return sent;
    });
  }

  /** Scheduled instants in (after, upTo], oldest first; the latest MAX_CATCH_UP of them. */
  private endsBetween(kind: ReportKind, after: number, upTo: number): number[] {
    const out: number[] = [];
    for (let t = this.schedules[kind].before(upTo + 1); t !== null && t > after; t = this.schedules[kind].before(t)) {
      out.push(t);
      if (out.length >= MAX_CATCH_UP) break;
    }
    return out.reverse();
  }

  /** Send the report for the period ending at scheduled time `periodEnd`, unless it was sent already. */
  send(kind: ReportKind, periodEnd: number): Promise<SentReport | null> {
    return this.enqueue(() => this.sendUnlocked(kind, this.periodEndingAt(kind, periodEnd), this.lastSent(kind)?.periodEnd ?? null));
  }

  sendDaily(periodEnd: number): Promise<SentReport | null> {
    return this.send('daily', periodEnd);
  }

  /** Build a report without sending or recording anything (previews, tests). */
  build(kind: ReportKind, periodEnd: number): Promise<Reply> {
    return buildPeriodReport(this.source, kind, this.periodEndingAt(kind, periodEnd));
  }

  /** A chart that fails to render must not cost the report: fall back to text only. */
  private async buildWithFallback(kind: ReportKind, period: Period, charts = true): Promise<Reply> {
    if (!charts && this.source.charts) return buildPeriodReport({ ...this.source, charts: false }, kind, period);
    try {
      return await buildPeriodReport(this.source, kind, period);
    } catch (e) {
      if (!this.source.charts) throw e;
      this.opts.log.error({ err: e, kind }, 'report chart failed; sending text only');
      return buildPeriodReport({ ...this.source, charts: false }, kind, period);
    }
  }

  private async sendUnlocked(kind: ReportKind, period: Period, lastEnd: number | null): Promise<SentReport | null> {
    if (lastEnd !== null && period.end <= lastEnd) return null;
    // No transport, no picture: the report is journaled as text (and replays stay light).
    const reply = await this.buildWithFallback(kind, period, this.opts.notifier.list().length > 0);
    const now = this.wallNow;
    // Marked before posting: a crash in between loses one report rather than sending it twice.
    STATE.reportSent(kind).write(this.opts.journal, { periodEnd: period.end, at: now }, now);
    const outcomes = await this.opts.notifier.broadcastEach(reply, REPORT_TOPIC);
    const destinations = outcomes.reduce((n, o) => n + o.refs.length, 0);
    let id: number | undefined;
    try {
      id = this.opts.journal.recordAlert(
        {
          ts: now,
          type: 'daily_report',
          severity: 'info',
          title: reply.title ?? `${kind} report`,
          message: reply.text,
          data: { kind, periodStart: period.start, periodEnd: period.end, image: reply.image?.filename ?? null, destinations },
        },
        destinations > 0 ? 'sent' : 'none',
      );
      this.recordDeliveries(id, outcomes);
    } catch (e) {
      this.opts.log.error({ err: e }, 'journaling a report failed');
    }
    const failed = failedIn(outcomes);
    if (failed.size > 0 && id !== undefined) this.retryLater(kind, reply, id, failed, 0);
    this.opts.log.info({ kind, periodStart: period.start, periodEnd: period.end, destinations }, 'report sent');
    return { kind, period, reply };
  }

  /** Each transport's outcome as the report's delivery rows; the report's delivery: each transport's latest, overall. */
  private recordDeliveries(id: number, outcomes: readonly BroadcastOutcome[]): void {
    const now = this.wallNow;
    for (const o of outcomes) {
      const detail = o.error === undefined ? undefined : deliveryDetail(o.error);
      this.opts.journal.recordAlertDelivery(id, o.transport, o.error === undefined ? 'sent' : 'failed', now, detail);
    }
    settleDelivery(this.opts.journal, id);
  }

  /**
   * A transport that failed to take a report (Telegram's 429 past auto-retry, a network error) gets it
   * again later, a few times: the morning report is not lost to one bad minute. Kept in memory: a
   * restart in between does not retry it (the journal row says it failed, and where).
   */
  private retryLater(kind: ReportKind, reply: Reply, id: number, failed: Set<string>, attempt: number): void {
    const delay = (this.opts.retryMs ?? REPORT_RETRY_MS)[attempt];
    if (delay === undefined || this.stopped) {
      this.opts.log.error({ kind, transports: [...failed] }, 'report not delivered: retries exhausted');
      return;
    }
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      void this.enqueue(async () => {
        if (this.stopped) return;
        const outcomes = await this.opts.notifier.broadcastEach(reply, REPORT_TOPIC, failed);
        try {
          this.recordDeliveries(id, outcomes);
        } catch (e) {
          this.opts.log.error({ err: e }, 'journaling a report delivery failed');
        }
        const still = failedIn(outcomes);
        if (still.size > 0) this.retryLater(kind, reply, id, still, attempt + 1);
        else this.opts.log.info({ kind, transports: [...failed] }, 'report delivered on retry');
      });
    }, delay);
    timer.unref();
    this.retryTimers.add(timer);
  }

  /** Resolves when every queued report (e.g. the start-up catch-up) is done. */
  async idle(): Promise<void> {
    let q: Promise<unknown>;
    do {
      q = this.queue;
      await q;
    } while (q !== this.queue);
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /** PNG chart of equity or daily PnL over the last `days` (Infinity: all), or null with no data. */
  async chart(kind: 'equity' | 'pnl', days: number): Promise<Buffer | null> {
    try {
      return (await renderChart(this.source, kind, Number.isFinite(days) ? days : null)).png;
    } catch (e) {
      this.opts.log.error({ err: e }, `chart failed: ${errorMessage(e)}`);
      return null;
    }
  }

  /** What the report source reads (commands share it). */
  get reportSource(): ReportSource {
    return this.source;
  }
}
