// The watchdog: is the trading loop making progress? It counts candles the loop hands to the
// engine, and every few seconds judges: a feed that claims to be up but whose candles stopped
// arriving for N timeframes means a stuck loop (critical alert); an event loop blocked for longer
// than allowed is a stall (critical alert). While healthy it pings the dead-man URL, so a stuck
// loop silences the heartbeat even though this timer still ticks; a blocked event loop silences it
// by itself. It also rewrites the journal's heartbeat row for `skipper health --check`.
import { safeHost } from '../core/format.ts';
import type { AlertSink } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import type { FeedState } from '../market/feed.ts';
import { HEARTBEAT_WRITE_MS, writeHeartbeat } from './heartbeat-state.ts';
import type { StateStore } from '../journal/state-keys.ts';

export interface WatchedFeed {
  symbol: string;
  timeframeMs: number;
  state: FeedState;
}

export interface WatchdogOptions {
  wall: Clock;
  log: Logger;
  alerts: AlertSink;
  journal: StateStore;
  feeds(): WatchedFeed[];
  /** The loop is waiting on purpose (a replay held while a proposal waits for an answer). */
  holding(): boolean;
  heartbeat: {
    url: string | null;
    method: 'GET' | 'POST';
    everySec: number;
    timeoutSec: number;
    staleTimeframes: number;
    loopStallSec: number;
  };
  observer?: { ping(outcome: 'ok' | 'failed'): void; progress(at: number): void; stuck(on: boolean): void };
}

/** Feed states in which candles are expected to keep coming. */
const FLOWING = new Set(['up', 'replaying']);
/** Alert after this many failed pings in a row (each failure is logged). */
const PING_ALERT_AFTER = 3;

const mins = (ms: number) => (ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);

export class Watchdog {
  private readonly counts = new Map<string, number>();
  private readonly seen = new Map<string, { count: number; at: number }>();
  private readonly stuck = new Set<string>();
  private total = 0;
  private readonly startedAt: number;
  private lastProgressAt: number;
  private lastWriteAt = -Infinity;
  private lastPingAt = -Infinity;
  private inflight: Promise<boolean> | undefined;
  private pingFailures = 0;
  private healthy = true;
  private stall: { ms: number; at: number } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private expected = 0;
  private stopped = false;

  constructor(private readonly o: WatchdogOptions) {
    this.startedAt = o.wall.now();
    this.lastProgressAt = this.startedAt;
  }

  /** The loop handed a candle to the engine (hot path: a map update, no clock read). */
  progress(symbol: string): void {
    this.counts.set(symbol, (this.counts.get(symbol) ?? 0) + 1);
    this.total++;
  }

  get candles(): number {
    return this.total;
  }

  countFor(symbol: string): number {
    return this.counts.get(symbol) ?? 0;
  }

  /**
   * Every second: measure how late the timer fires (event-loop stalls); every 10 s, and whenever a
   * ping is due (`everySec` may be shorter than 10 s, or not a multiple of it), judge.
   */
  start(): void {
    const period = 1000;
    this.expected = performance.now() + period;
    let sinceCheck = 0;
    this.timer = setInterval(() => {
      const late = performance.now() - this.expected;
      this.expected = performance.now() + period;
      if (late > this.o.heartbeat.loopStallSec * 1000) this.onStall(late);
      sinceCheck += period + Math.max(0, late);
      if (sinceCheck >= HEARTBEAT_WRITE_MS || this.stall || this.pingDue()) {
        sinceCheck = 0;
        this.check();
      }
    }, period);
    this.timer.unref();
    this.check();
  }

  private onStall(ms: number): void {
    this.stall = { ms, at: this.o.wall.now() };
    this.o.log.error({ blockedMs: Math.round(ms) }, 'event loop stalled');
    this.o.alerts.raise({
      type: 'watchdog',
      severity: 'critical',
      title: 'Event loop stalled',
      message: `The bot's event loop was blocked for ${(ms / 1000).toFixed(1)} s (limit ${this.o.heartbeat.loopStallSec} s): nothing ran meanwhile — no candles, no chat, no order updates. Check /health and the log.`,
      key: 'watchdog:stall',
    });
  }

  /** Healthy at the last judgement, and the dead-man URL not pinged for `everySec`. */
  private pingDue(): boolean {
    return this.healthy && this.o.heartbeat.url !== null && this.o.wall.now() - this.lastPingAt >= this.o.heartbeat.everySec * 1000;
  }

  /** Judge the loop now: alerts on change, heartbeat row, dead-man ping. */
  check(): { healthy: boolean; problems: string[] } {
    const now = this.o.wall.now();
    const problems: string[] = [];
    const feeds = this.o.feeds();
    const holding = this.o.holding();
    for (const f of feeds) {
      const count = this.counts.get(f.symbol) ?? 0;
      const prev = this.seen.get(f.symbol);
      if (!prev || prev.count !== count) {
        this.seen.set(f.symbol, { count, at: prev ? now : this.startedAt });
        if (prev) this.lastProgressAt = now;
      }
      const at = this.seen.get(f.symbol)!.at;
      const limit = this.o.heartbeat.staleTimeframes * f.timeframeMs;
      const quiet = now - at;
      const isStuck = FLOWING.has(f.state.status) && !holding && quiet > limit;
      if (isStuck) {
        problems.push(`no candle processed on ${f.symbol} for ${mins(quiet)} while the feed is ${f.state.status} (limit ${mins(limit)})`);
        if (!this.stuck.has(f.symbol)) {
          this.stuck.add(f.symbol);
          this.o.log.error({ symbol: f.symbol, quietMs: quiet }, 'trading loop stuck');
          this.o.alerts.raise({
            type: 'watchdog',
            severity: 'critical',
            title: `Trading loop stuck on ${f.symbol}`,
            message: `No candle processed for ${mins(quiet)} although the feed says it is ${f.state.status} (${f.state.detail || 'no detail'}). The dead-man heartbeat has stopped. Check /health and the log; a restart resumes from the journal.`,
            key: `watchdog:${f.symbol}`,
          });
        }
      } else if (this.stuck.delete(f.symbol)) {
        this.o.alerts.raise({
          type: 'watchdog',
          severity: 'info',
          title: `Trading loop moving again on ${f.symbol}`,
          message: `Candles are being processed again (feed ${f.state.status}).`,
          key: `watchdog:${f.symbol}:ok`,
        });
      }
    }
    if (this.stall) {
      problems.push(`event loop blocked for ${(this.stall.ms / 1000).toFixed(1)} s`);
      this.stall = null; // reported once; a stall that persists blocks this timer and ages the heartbeat
    }
    const healthy = problems.length === 0;
    this.healthy = healthy;
    this.o.observer?.progress(this.lastProgressAt);
    this.o.observer?.stuck(!healthy);
    if (now - this.lastWriteAt >= HEARTBEAT_WRITE_MS - 1000 || !healthy) this.writeRow(now, healthy, problems, feeds);
    if (healthy && this.o.heartbeat.url && now - this.lastPingAt >= this.o.heartbeat.everySec * 1000) void this.ping(now);
    return { healthy, problems };
  }

  private writeRow(now: number, healthy: boolean, problems: string[], feeds: WatchedFeed[]): void {
    this.lastWriteAt = now;
    try {
      writeHeartbeat(this.o.journal, {
        ts: now,
        startedAt: this.startedAt,
        healthy,
        problems,
        lastProgressAt: this.lastProgressAt,
        candles: this.total,
        feeds: feeds.map((f) => ({ symbol: f.symbol, status: f.state.status })),
      });
    } catch (e) {
      this.o.log.warn({ err: errorMessage(e) }, 'heartbeat row not written');
    }
  }

  /** Resolves when no ping is in flight. */
  async settled(): Promise<void> {
    await this.inflight;
  }

  /** One request to the dead-man URL; failures are warnings, never errors that stop anything. */
  ping(now = this.o.wall.now()): Promise<boolean> {
    if (!this.o.heartbeat.url || this.inflight || this.stopped) return Promise.resolve(false);
    this.inflight = this.send(this.o.heartbeat.url, now).finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async send(url: string, now: number): Promise<boolean> {
    this.lastPingAt = now;
    const host = safeHost(url);
    try {
      const res = await fetch(url, {
        method: this.o.heartbeat.method,
        signal: AbortSignal.timeout(this.o.heartbeat.timeoutSec * 1000),
        ...(this.o.heartbeat.method === 'POST'
          ? { body: `skipper ok: ${this.total} candles since start`, headers: { 'content-type': 'text/plain' } }
          : {}),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      if (this.pingFailures >= PING_ALERT_AFTER) this.o.log.info({ host }, 'heartbeat URL reachable again');
      this.pingFailures = 0;
      this.o.observer?.ping('ok');
      return true;
    } catch (e) {
      this.pingFailures++;
      this.o.observer?.ping('failed');
      const why =
        e instanceof Error && e.name === 'TimeoutError' ? `no answer within ${this.o.heartbeat.timeoutSec} s` : describeFetchError(e);
      this.o.log.warn({ host, failures: this.pingFailures, error: why }, 'heartbeat ping failed');
      if (this.pingFailures === PING_ALERT_AFTER) {
        this.o.alerts.raise({
          type: 'watchdog',
          severity: 'warning',
          title: 'Dead-man heartbeat not delivered',
          message: `${this.pingFailures} heartbeat pings to ${host} failed in a row (${why}). Trading continues; the dead-man service may page you.`,
          key: 'watchdog:ping',
        });
      }
      return false;
    }
  }

  /** Mark the heartbeat row as cleanly stopped. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    const now = this.o.wall.now();
    try {
      writeHeartbeat(this.o.journal, {
        ts: now,
        startedAt: this.startedAt,
        healthy: false,
        problems: ['stopped'],
        lastProgressAt: this.lastProgressAt,
        candles: this.total,
        feeds: [],
        stoppedAt: now,
      });
    } catch {
      /* the journal may already be closed */
    }
  }
}

function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? errorMessage(e);
}
