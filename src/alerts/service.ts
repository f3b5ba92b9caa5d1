import type { Alert, AlertInput, AlertSeverity, AlertSink } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { scrubSecrets } from '../core/logger.ts';
import type { Journal } from '../journal/journal.ts';
import type { AlertControls } from '../chat/services.ts';

const RANK: Record<AlertSeverity, number> = { info: 0, warning: 1, critical: 2 };
const MAX_WINDOWS = 500;

/** Somewhere alerts are delivered: the console, a Telegram chat, a Discord channel… */
export interface AlertChannel {
  readonly name: string;
  /** Lowest severity this channel wants. */
  readonly minSeverity?: AlertSeverity;
  /** Optional finer filter (e.g. Discord routing by type). */
  accepts?(alert: Alert): boolean;
  deliver(alert: Alert, repeat: number): void | Promise<void>;
}

interface Window {
  id: number;
  alert: Alert;
  count: number;
  until: number;
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
  observer?: AlertObserver;
}

/**
 * Journals every alert, coalesces repeats, honours mutes and delivers to channels. Delivery errors
 * are logged and never reach the producer: raising an alert can't break trading.
 */
export class AlertService implements AlertSink, AlertControls {
  private readonly channels: AlertChannel[] = [];
  private readonly windows = new Map<string, Window>();
  private readonly muted = new Map<string, number>();
  private readonly storm = new Map<string, { start: number; sent: number; dropped: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly journal: Journal,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: AlertServiceOptions,
  ) {
    const saved = journal.getState<Record<string, number>>('alert_mutes', {});
    for (const [k, v] of Object.entries(saved)) this.muted.set(k, v);
  }

  addChannel(ch: AlertChannel): void {
    this.channels.push(ch);
  }

  raise(input: AlertInput): void {
    try {
      this.process(input);
    } catch (e) {
      this.log.error({ err: e, alert: input.title }, 'alert failed');
    }
  }

  private process(input: AlertInput): void {
    const now = this.clock.now();
    const alert: Alert = { ...input, title: scrubSecrets(input.title), message: scrubSecrets(input.message), ts: now };
    const key = input.key ?? `${input.type}:${input.title}`;
    const w = this.windows.get(key);
    if (w && now < w.until) {
      w.count++;
      this.opts.observer?.coalesced?.(input);
      this.journal.bumpAlert(w.id, w.count);
      return;
    }
    if (w) this.flushWindow(key, w);
    const mutedUntil = this.muted.get(input.type);
    const isMuted = mutedUntil !== undefined && now < mutedUntil && input.severity !== 'critical';
    const below = RANK[input.severity] < RANK[this.opts.minSeverity];
    const id = this.journal.recordAlert(alert, isMuted ? 'muted' : below ? 'none' : 'sent');
    this.opts.observer?.raised?.(alert);
    this.log[input.severity === 'critical' ? 'error' : input.severity === 'warning' ? 'warn' : 'info'](
      { alert: input.type, data: input.data },
      `${alert.title}: ${alert.message}`,
    );
    if (this.opts.coalesceMs > 0) {
      // Bounded: in a flood of distinct alerts the oldest windows close early.
      if (this.windows.size >= MAX_WINDOWS) {
        const [oldKey, oldWin] = this.windows.entries().next().value!;
        this.flushWindow(oldKey, oldWin);
      }
      this.windows.set(key, { id, alert, count: 1, until: now + this.opts.coalesceMs });
      this.armTimer();
    }
    if (!isMuted && !below) this.deliver(alert, 1);
  }

  /** When a window closes with repeats, say how many there were. */
  private flushWindow(key: string, w: Window): void {
    this.windows.delete(key);
    if (w.count > 1) this.deliver({ ...w.alert, ts: this.clock.now(), title: `${w.alert.title} (repeated)` }, w.count);
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), Math.max(1000, Math.min(this.opts.coalesceMs, 30_000)));
    this.timer.unref();
  }

  /** Close expired coalescing windows. Called by a timer; tests may call it directly. */
  tick(): void {
    const now = this.clock.now();
    for (const [key, w] of this.windows) if (now >= w.until) this.flushWindow(key, w);
    if (this.windows.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private deliver(alert: Alert, repeat: number): void {
    for (const ch of this.channels) {
      if (ch.minSeverity && RANK[alert.severity] < RANK[ch.minSeverity]) continue;
      if (ch.accepts && !ch.accepts(alert)) continue;
      if (!this.admitStorm(ch.name, alert)) {
        this.opts.observer?.dropped?.(ch.name, alert);
        continue;
      }
      const seen = (ok: boolean) => this.opts.observer?.delivered?.(ch.name, alert, ok);
      try {
        const r = ch.deliver(alert, repeat);
        if (r && typeof (r as Promise<void>).catch === 'function') {
          (r as Promise<void>).then(
            () => seen(true),
            (e: unknown) => {
              seen(false);
              this.log.error({ err: e, channel: ch.name }, 'alert delivery failed');
            },
          );
        } else seen(true);
      } catch (e) {
        seen(false);
        this.log.error({ err: e, channel: ch.name }, 'alert delivery failed');
      }
    }
  }

  /** Storm guard: critical alerts always pass; others are capped per channel and summarized. */
  private admitStorm(channel: string, alert: Alert): boolean {
    const limit = this.opts.stormLimit ?? 20;
    const windowMs = this.opts.stormWindowMs ?? 10_000;
    const now = this.clock.now();
    let s = this.storm.get(channel);
    if (!s || now - s.start >= windowMs) {
      if (s && s.dropped > 0) {
        const dropped = s.dropped;
        s = { start: now, sent: 0, dropped: 0 };
        this.storm.set(channel, s);
        const note: Alert = {
          type: 'engine',
          severity: 'warning',
          title: 'Alert storm',
          message: `${dropped} alert(s) not sent to ${channel} to avoid a flood; all are in the journal (/alerts).`,
          ts: now,
        };
        const ch = this.channels.find((c) => c.name === channel);
        if (ch) void Promise.resolve(ch.deliver(note, 1)).catch(() => {});
      } else {
        s = { start: now, sent: 0, dropped: 0 };
        this.storm.set(channel, s);
      }
    }
    if (alert.severity === 'critical' || s.sent < limit) {
      s.sent++;
      return true;
    }
    s.dropped++;
    return false;
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
    this.journal.setState('alert_mutes', Object.fromEntries(this.muted), this.clock.now());
  }

  unmute(type: string): void {
    this.muted.delete(type);
    this.journal.setState('alert_mutes', Object.fromEntries(this.muted), this.clock.now());
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
