import type { Alert, AlertInput, AlertSeverity, AlertSink } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { scrubSecrets, secretValues } from '../core/logger.ts';
import type { Journal } from '../journal/journal.ts';
import { STATE } from '../journal/state-keys.ts';
import { duration, counted } from '../core/format.ts';
import { AlertAggregate } from './aggregate.ts';

const RANK: Record<AlertSeverity, number> = { info: 0, warning: 1, critical: 2 };
const MAX_WINDOWS = 500;
const TICK_MS = 1000;

/** Somewhere alerts are delivered: the console, one Telegram chat, one Discord channel… */
export interface AlertChannel {
  /** Unique: it names the channel in the journal's delivery rows (e.g. `discord:1234`). */
  readonly name: string;
  /** Lowest severity this channel wants. */
  readonly minSeverity?: AlertSeverity;
  /** Optional finer filter (e.g. Discord routing by type). */
  accepts?(alert: Alert): boolean;
  deliver(alert: Alert): void | Promise<void>;
}

/** One channel's outcome for one alert, as journaled in alert_deliveries. */
export type DeliveryStatus = 'sent' | 'failed' | 'dropped';

/** Identical alerts within the coalescing window: the first is delivered, the rest are summed up. */
interface Window {
  first: Alert;
  firstId: number;
  lastId: number;
  /** Every alert of the window, the first included. */
  agg: AlertAggregate;
  /** The repeats only (the first was delivered on its own). */
  rest: AlertAggregate;
  severity: AlertSeverity;
  until: number;
  /** An explicit key groups alerts whose titles differ (a model's v2 then v3): the summary must not repeat the first's. */
  titlesDiffer: boolean;
}

/** Storm guard state of one channel for the current window. */
interface Storm {
  start: number;
  sent: number;
  /** What was held back, per alert type. */
  held: Map<string, AlertAggregate>;
  heldCount: number;
}

/** Sees what happens to alerts (metrics, escalation); it must not throw. */
export interface AlertObserver {
  raised?(alert: Alert): void;
  coalesced?(alert: AlertInput): void;
  delivered?(channel: string, alert: Alert, ok: boolean): void;
  dropped?(channel: string, alert: Alert): void;
}

export interface AlertServiceOptions {
  /** Identical alerts (same key) within this window are delivered once, then summarized. */
  coalesceMs: number;
  minSeverity: AlertSeverity;
  /** Storm guard: at most this many deliveries per channel per `stormWindowMs`. */
  stormLimit?: number;
  stormWindowMs?: number;
  /** A critical alert a channel failed to take is tried again after each of these delays (default CRITICAL_RETRY_MS). */
  criticalRetryMs?: readonly number[];
  observer?: AlertObserver;
}

/**
 * When a critical alert that a channel failed to take (a network error, Telegram's 429s beyond its
 * client's own retries) is tried again: a blip must not cost the one alert that had to reach the trader.
 */
export const CRITICAL_RETRY_MS: readonly number[] = [15_000, 60_000, 300_000, 900_000];

/** What a failed delivery's row says: the error, scrubbed of secrets, cut to fit (an alert's or a report's). */
export const deliveryDetail = (e: unknown, prefix = ''): string => `${prefix}${scrubSecrets(errorMessage(e))}`.slice(0, 300);

/** After a retry: the alert's (or report's) delivery from each channel's latest outcome. */
export function settleDelivery(journal: Journal, id: number): void {
  const latest = new Map(journal.alertDeliveries(id).map((d) => [d.channel, d.status as DeliveryStatus]));
  if (latest.size > 0) journal.setAlertDelivery(id, overallDelivery([...latest.values()]));
}

/** The overall delivery of an alert from its channels' outcomes (a report's too). */
export function overallDelivery(statuses: readonly DeliveryStatus[]): string {
  if (statuses.length === 0) return 'none';
  if (statuses.every((s) => s === statuses[0])) return statuses[0]!;
  return statuses.includes('sent') ? 'partial' : 'failed';
}

/** Alert controls used by /alerts (implemented by the alert service). */
export interface AlertControls {
  routes(): string[];
  mutes(): Array<{ type: string; until: number }>;
  mute(type: string, untilTs: number): void;
  unmute(type: string): void;
}

/**
 * Journals every alert and what happened to it on each channel, coalesces repeats into summaries
 * with totals, honours mutes, and guards each channel against floods: what the storm guard holds
 * back is counted and summed up to that same channel as soon as its window ends. Delivery errors
 * are logged and journaled and never reach the producer: raising an alert can't break trading.
 */
export class AlertService implements AlertSink, AlertControls {
  private readonly channels: AlertChannel[] = [];
  private readonly windows = new Map<string, Window>();
  private readonly muted = new Map<string, number>();
  private readonly storms = new Map<string, Storm>();
  private timer: NodeJS.Timeout | undefined;
  /** Pending redeliveries of critical alerts (cleared by close()). */
  private readonly retries = new Set<NodeJS.Timeout>();

  constructor(
    private readonly journal: Journal,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: AlertServiceOptions,
  ) {
    const saved = STATE.alertMutes.read(journal);
    for (const [k, v] of Object.entries(saved)) this.muted.set(k, v);
  }

  private get stormLimit(): number {
    return this.opts.stormLimit ?? 20;
  }

  private get stormWindowMs(): number {
    return this.opts.stormWindowMs ?? 10_000;
  }

  addChannel(ch: AlertChannel): void {
    this.channels.push(ch);
  }

  /** Config reload: a transport's alert channels (`name`, `name:<dest>`) replaced by `chans`. */
  replaceChannels(name: string, chans: AlertChannel[]): void {
    const keep = this.channels.filter((c) => c.name !== name && !c.name.startsWith(`${name}:`));
    this.channels.splice(0, this.channels.length, ...keep, ...chans);
  }

  /** Config reload: new coalescing window and minimum severity from the next alert on. */
  configure(p: Pick<AlertServiceOptions, 'coalesceMs' | 'minSeverity'>): void {
    Object.assign(this.opts, p);
  }

  raise(input: AlertInput): void {
    try {
      this.process(input);
    } catch (e) {
      this.log.error({ err: e, alert: input.title }, 'alert failed');
    }
  }

  private record(alert: Alert, delivery: string, count = 1): number {
    const data = alert.figures ? { ...alert.data, figures: alert.figures } : alert.data;
    return this.journal.recordAlert({ ...alert, ...(data ? { data } : {}) }, delivery, count);
  }

  private process(input: AlertInput): void {
    const now = this.clock.now();
    this.closeExpired(now);
    const secrets = secretValues();
    const alert: Alert = { ...input, title: scrubSecrets(input.title, secrets), message: scrubSecrets(input.message, secrets), ts: now };
    const key = input.key ?? `${input.type}:${input.title}`;
    const w = this.windows.get(key);
    if (w && now < w.until) {
      w.lastId = this.record(alert, 'coalesced');
      w.agg.add(alert);
      w.rest.add(alert);
      if (RANK[alert.severity] > RANK[w.severity]) w.severity = alert.severity;
      if (alert.title !== w.first.title) w.titlesDiffer = true;
      this.opts.observer?.coalesced?.(input);
      return;
    }
    if (w) this.flushWindow(key, w);
    const mutedUntil = this.muted.get(input.type);
    const isMuted = mutedUntil !== undefined && now < mutedUntil && input.severity !== 'critical';
    const below = RANK[input.severity] < RANK[this.opts.minSeverity];
    const routed = !isMuted && !below && this.targets(alert).length > 0;
    const id = this.record(alert, isMuted ? 'muted' : routed ? 'pending' : 'none');
    this.opts.observer?.raised?.(alert);
    this.log[input.severity === 'critical' ? 'error' : input.severity === 'warning' ? 'warn' : 'info'](
      { alert: input.type, data: input.data, figures: input.figures },
      `${alert.title}: ${alert.message}`,
    );
    if (isMuted || below) return;
    if (this.opts.coalesceMs > 0) {
      // Bounded: in a flood of distinct alerts the oldest windows close early.
      if (this.windows.size >= MAX_WINDOWS) {
        const [oldKey, oldWin] = this.windows.entries().next().value!;
        this.flushWindow(oldKey, oldWin);
      }
      this.windows.set(key, {
        first: alert,
        firstId: id,
        lastId: id,
        agg: new AlertAggregate().add(alert),
        rest: new AlertAggregate(),
        severity: alert.severity,
        until: now + this.opts.coalesceMs,
        titlesDiffer: false,
      });
      this.armTimer();
    }
    this.dispatch(id, alert);
  }

  /**
   * Windows expired by now are closed here too, not only by the wall-time timer: with a simulated
   * clock (tests, the latency bench) the timer never caught up, and a window of each distinct alert
   * (one per trade) lived long enough to be promoted out of the young heap. Oldest first, up to a
   * live one. (A replay's alerts run on the wall clock, like a live bot's.)
   */
  private closeExpired(now: number): void {
    for (const [key, w] of this.windows) {
      if (now < w.until) break;
      this.flushWindow(key, w);
    }
  }

  /** When a window closes with repeats, one summary: the count and what they add up to. */
  private flushWindow(key: string, w: Window): void {
    this.windows.delete(key);
    const n = w.agg.count;
    if (n < 2) return;
    const last = w.agg.last ?? w.first;
    const summary: Alert = {
      type: w.first.type,
      severity: w.severity,
      title: w.titlesDiffer ? `${last.title} (latest of ${n})` : `${w.first.title} ×${n}`,
      message: `${n} in ${w.agg.span()}${w.titlesDiffer ? `; the first: ${w.first.title}` : ''}${w.agg.describe()}`,
      ts: this.clock.now(),
      data: { coalesced: { firstId: w.firstId, lastId: w.lastId, ...w.agg.totals() } },
    };
    const id = this.record(summary, 'pending', n);
    this.dispatch(id, summary, w.rest);
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Close expired coalescing windows and storm windows. Called by a timer; tests may call it directly. */
  tick(): void {
    const now = this.clock.now();
    try {
      for (const [key, w] of this.windows) if (now >= w.until) this.flushWindow(key, w);
    } catch (e) {
      this.log.error({ err: e }, 'alert summary failed'); // a timer must not throw (a full journal, say)
    }
    for (const [name, s] of this.storms) if (now - s.start >= this.stormWindowMs) this.endStorm(name, s, now);
    if (this.windows.size === 0 && ![...this.storms.values()].some((s) => s.heldCount > 0) && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Send every pending summary now (coalesced repeats, storm counts): before a shutdown. */
  flush(): void {
    for (const [key, w] of this.windows) this.flushWindow(key, w);
    const now = this.clock.now();
    for (const [name, s] of this.storms) this.endStorm(name, s, now);
  }

  /**
   * Deliver to every channel that takes the alert, and journal each channel's outcome; the alert
   * row's delivery is the overall outcome once every channel has answered. `group` is what a
   * summary stands for (the storm guard counts all of it when it holds the summary back).
   */
  private dispatch(id: number, alert: Alert, group?: AlertAggregate, only?: AlertChannel): void {
    const targets = only ? [only] : this.targets(alert);
    if (!targets.length) {
      if (group) this.journal.setAlertDelivery(id, 'none'); // summaries are recorded as pending first
      return;
    }
    const statuses: DeliveryStatus[] = [];
    const done = (ch: AlertChannel, status: DeliveryStatus, detail?: string): void => {
      if (status === 'dropped') this.opts.observer?.dropped?.(ch.name, alert);
      else this.opts.observer?.delivered?.(ch.name, alert, status === 'sent');
      try {
        this.journal.recordAlertDelivery(id, ch.name, status, this.clock.now(), detail);
        statuses.push(status);
        if (statuses.length === targets.length) this.journal.setAlertDelivery(id, overallDelivery(statuses));
      } catch (e) {
        this.log.error({ err: e, channel: ch.name }, 'journaling an alert delivery failed');
      }
    };
    const failed = (ch: AlertChannel, e: unknown): void => {
      this.log.error({ err: e, channel: ch.name, alert: alert.type }, 'alert delivery failed');
      done(ch, 'failed', deliveryDetail(e));
      if (alert.severity === 'critical') this.retryCritical(id, alert, ch, 0);
    };
    for (const ch of targets) {
      if (!only && !this.admit(ch, alert, group)) {
        done(ch, 'dropped');
        continue;
      }
      try {
        const r = ch.deliver(alert);
        if (r && typeof (r as Promise<void>).then === 'function')
          (r as Promise<void>).then(
            () => done(ch, 'sent'),
            (e: unknown) => failed(ch, e),
          );
        else done(ch, 'sent');
      } catch (e) {
        failed(ch, e);
      }
    }
  }

  /**
   * Try a critical alert again on the channel that failed to take it, after CRITICAL_RETRY_MS[attempt];
   * each outcome is journaled like the first, and the alert's overall delivery follows its channels' latest.
   */
  private retryCritical(id: number, alert: Alert, ch: AlertChannel, attempt: number): void {
    const delay = (this.opts.criticalRetryMs ?? CRITICAL_RETRY_MS)[attempt];
    if (delay === undefined) return;
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      const outcome = (status: DeliveryStatus, detail?: string): void => {
        this.opts.observer?.delivered?.(ch.name, alert, status === 'sent');
        try {
          this.journal.recordAlertDelivery(id, ch.name, status, this.clock.now(), detail);
          settleDelivery(this.journal, id);
        } catch (e) {
          this.log.error({ err: e, channel: ch.name }, 'journaling an alert delivery failed');
        }
      };
      Promise.resolve()
        .then(() => ch.deliver(alert))
        .then(
          () => {
            this.log.info({ channel: ch.name, alert: alert.type, attempt: attempt + 2 }, 'critical alert delivered on a retry');
            outcome('sent');
          },
          (e: unknown) => {
            this.log.error({ err: e, channel: ch.name, alert: alert.type, attempt: attempt + 2 }, 'alert delivery failed again');
            outcome('failed', deliveryDetail(e, `retry ${attempt + 1}: `));
            this.retryCritical(id, alert, ch, attempt + 1);
          },
        );
    }, delay);
    timer.unref();
    this.retries.add(timer);
  }

  private targets(alert: Alert): AlertChannel[] {
    return this.channels.filter(
      (ch) => !(ch.minSeverity && RANK[alert.severity] < RANK[ch.minSeverity]) && (!ch.accepts || ch.accepts(alert)),
    );
  }

  /** Storm guard: critical alerts always pass; others are capped per channel, and what is held back is counted. */
  private admit(ch: AlertChannel, alert: Alert, group?: AlertAggregate): boolean {
    const now = this.clock.now();
    let s = this.storms.get(ch.name);
    if (s && now - s.start >= this.stormWindowMs) s = this.endStorm(ch.name, s, now);
    if (!s) this.storms.set(ch.name, (s = { start: now, sent: 0, held: new Map(), heldCount: 0 }));
    if (alert.severity === 'critical' || s.sent < this.stormLimit) {
      s.sent++;
      return true;
    }
    const held = s.held.get(alert.type) ?? new AlertAggregate();
    if (group) held.merge(group);
    else held.add(alert);
    s.held.set(alert.type, held);
    s.heldCount += group ? group.count : 1;
    this.armTimer();
    return false;
  }

  /** A channel's storm window is over: if it held anything back, tell that channel what and how much. */
  private endStorm(name: string, s: Storm, now: number): undefined {
    this.storms.delete(name);
    if (s.heldCount === 0) return undefined;
    const ch = this.channels.find((c) => c.name === name);
    if (!ch) return undefined;
    const groups = [...s.held].map(([type, agg]) => {
      const figures = agg.hasFigures ? `: ${agg.figures()}` : '';
      return `${type} ×${agg.count}${figures}`;
    });
    const note: Alert = {
      type: 'engine',
      severity: 'warning',
      title: `Alert storm: ${counted(s.heldCount, 'alert')} not shown here`,
      message:
        `Held back in the last ${duration(Math.max(this.stormWindowMs, now - s.start))} to avoid a flood:\n` +
        `${groups.join('\n')}\nAll of them are in the journal (/alerts).`,
      ts: now,
      data: { channel: name, held: s.heldCount, byType: Object.fromEntries([...s.held].map(([t, a]) => [t, a.totals()])) },
    };
    const id = this.record(note, 'pending', s.heldCount);
    this.log.warn({ channel: name, held: s.heldCount }, 'alert storm: summary sent');
    this.dispatch(id, note, undefined, ch);
    return undefined;
  }

  // ---- controls (/alerts) ----

  routes(): string[] {
    return this.channels.map((c) => `${c.name}${c.minSeverity ? ` (≥ ${c.minSeverity})` : ''}`);
  }

  mutes(): Array<{ type: string; until: number }> {
    const now = this.clock.now();
    return [...this.muted].filter(([, until]) => until > now).map(([type, until]) => ({ type, until }));
  }

  mute(type: string, untilTs: number): void {
    this.muted.set(type, untilTs);
    STATE.alertMutes.write(this.journal, Object.fromEntries(this.muted), this.clock.now());
  }

  unmute(type: string): void {
    this.muted.delete(type);
    STATE.alertMutes.write(this.journal, Object.fromEntries(this.muted), this.clock.now());
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const t of this.retries) clearTimeout(t);
    this.retries.clear();
  }
}
