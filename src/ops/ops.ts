// Operations around the trading loop, wired by the bot: Prometheus metrics on an optional HTTP
// listener, the watchdog with its dead-man heartbeat and journal heartbeat row, escalation of
// unacknowledged critical alerts, and scheduled journal backups. None of it can stop trading: each
// part reports its own problems (log + alert) and carries on.
import type { Alert, AlertInput, AlertSink } from '../core/alerts.ts';
import type { AlertObserver } from '../alerts/service.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { Secrets } from '../config/env.ts';
import type { FeedInfo, VenueState } from '../chat/services.ts';
import type { ButtonResult } from '../chat/dispatcher.ts';
import type { ChatUser } from '../chat/types.ts';
import type { Topic } from '../chat/transport.ts';
import type { MessageRef, Reply } from '../chat/types.ts';
import type { Journal } from '../journal/journal.ts';
import { TIMEFRAME_MS } from '../core/types.ts';
import { quoteOf } from '../core/symbols.ts';
import { BackupService } from './backup-service.ts';
import { Escalation } from './escalation.ts';
import { Watchdog } from './watchdog.ts';
import type { VenueObserver } from './venue-metrics.ts';
import type { MetricsSnapshot, SkipperMetrics } from './metrics.ts';
import type { JournalCounters } from './journal-counters.ts';
import type { Listening } from './http-listener.ts';

export interface OpsOptions {
  config: Config;
  wall: Clock;
  log: Logger;
  journal: Journal;
  secrets: Secrets;
}

/** The engine state operations read (the engine's status has these fields). */
export type OpsStatus = Omit<MetricsSnapshot, 'strategy' | 'quote' | 'timeframeMs' | 'feeds' | 'venueUp' | 'approvalsPending'>;

/** What operations read from and act on once the bot is assembled. */
export interface OpsTargets {
  status(): OpsStatus;
  controls: { pause(by: string): void; flatten(by: string): { cancelled: number; closing: string[] } };
  feeds(): Array<FeedInfo & { timeframeMs?: number }>;
  venue(): VenueState;
  approvalsPending(): number;
  /** A replay held while a proposal waits for an answer. */
  holding(): boolean;
  alerts: AlertSink;
  notifier: {
    broadcast(reply: Reply, topic: Topic): Promise<MessageRef[]>;
    edit(refs: readonly MessageRef[], reply: Reply): Promise<void>;
  };
}

export class Ops {
  readonly backups: BackupService;
  private watchdog: Watchdog | undefined;
  private escalation: Escalation | undefined;
  private metrics: SkipperMetrics | undefined;
  private counters: JournalCounters | undefined;
  private server: Listening | undefined;
  private t: OpsTargets | undefined;
  /** Decision-latency histogram children per symbol (label lookup once, not per candle). */
  private readonly decisionBySymbol = new Map<string, { observe(v: number): void }>();
  private readonly countedCandles = new Map<string, number>();
  /** Bound port of the metrics listener (tests use port 0). */
  metricsPort: number | undefined;

  constructor(private readonly o: OpsOptions) {
    this.backups = new BackupService({
      journalPath: o.journal.path,
      settings: o.config.backup,
      wall: o.wall,
      log: o.log,
      alerts: { raise: (a) => this.raise(a) },
      observer: {
        backup: (outcome, r, at) => {
          this.metrics?.backups.inc({ outcome });
          if (r && at !== undefined) {
            this.metrics?.lastBackup.set(at / 1000);
            this.metrics?.lastBackupSize.set(r.bytes);
          }
        },
      },
    });
  }

  private raise(a: AlertInput): void {
    this.t?.alerts.raise(a);
  }

  /** Observes the alert service: escalation and alert metrics. */
  readonly alertObserver: AlertObserver = {
    raised: (a: Alert) => {
      this.metrics?.alertsRaised.inc({ type: a.type, severity: a.severity });
      this.escalation?.observe(a);
    },
    coalesced: (a) => this.metrics?.alertsCoalesced.inc({ type: a.type }),
    delivered: (channel, _a, ok) => this.metrics?.alertDeliveries.inc({ channel, outcome: ok ? 'sent' : 'failed' }),
    dropped: (channel) => this.metrics?.alertDeliveries.inc({ channel, outcome: 'dropped' }),
  };

  /** Venue REST calls (ccxt), counted once metrics are on. */
  readonly venueObserver: VenueObserver = {
    venueRequest: (venue, method, endpoint, outcome, seconds) =>
      this.metrics?.venueRequests.observe({ venue, method, endpoint, outcome }, seconds),
    rateLimited: (venue) => this.metrics?.rateLimits.inc({ venue }),
  };

  /** Model strategies report here (not wired yet: the models' strategy lands with the architecture refactor). */
  readonly modelObserver = {
    prediction: (model: string, outcome: 'hit' | 'miss' | 'pending') => this.metrics?.modelPredictions.inc({ model, outcome }),
    hitRatio: (model: string, ratio: number) => this.metrics?.modelHitRatio.set({ model }, ratio),
  };

  /** The bot is assembled: wire what reads the engine, the feeds and chat. */
  attach(t: OpsTargets): void {
    this.t = t;
    const cfg = this.o.config;
    this.escalation = new Escalation({
      settings: cfg.alerts.escalation,
      wall: this.o.wall,
      log: this.o.log,
      alerts: t.alerts,
      journal: this.o.journal,
      notifier: t.notifier,
      controls: t.controls,
      observer: {
        pending: (on) => this.metrics?.escalationPending.set(on ? 1 : 0),
        escalated: (action) => this.metrics?.escalations.inc({ action }),
      },
    });
    const tfMs = TIMEFRAME_MS[cfg.market.timeframe];
    this.watchdog = new Watchdog({
      wall: this.o.wall,
      log: this.o.log,
      alerts: t.alerts,
      journal: this.o.journal,
      feeds: () => t.feeds().map((f) => ({ symbol: f.symbol, timeframeMs: f.timeframeMs ?? tfMs, state: f.state })),
      holding: t.holding,
      heartbeat: cfg.heartbeat,
      observer: {
        ping: (outcome) => this.metrics?.heartbeats.inc({ outcome }),
        progress: (at) => this.metrics?.loopProgress.set(at / 1000),
        stuck: (on) => this.metrics?.watchdogStuck.set(on ? 1 : 0),
      },
    });
  }

  /** The Acknowledge button on escalation prompts. */
  onAckButton(user: ChatUser, parts: string[]): Promise<ButtonResult> | ButtonResult {
    return this.escalation ? this.escalation.onButton(user, parts) : { toast: 'This button is no longer valid.' };
  }

  get escalations(): Escalation | undefined {
    return this.escalation;
  }

  get watch(): Watchdog | undefined {
    return this.watchdog;
  }

  /** Start metrics (if enabled), the watchdog, escalation and the backup schedule. Never throws. */
  async start(): Promise<void> {
    const cfg = this.o.config;
    if (cfg.metrics.enabled) await this.startMetrics();
    this.watchdog?.start();
    this.escalation?.start();
    this.backups.start();
  }

  private async startMetrics(): Promise<void> {
    const cfg = this.o.config.metrics;
    try {
      const [{ SkipperMetrics }, { JournalCounters }, { serveMetrics }] = await Promise.all([
        import('./metrics.ts'),
        import('./journal-counters.ts'),
        import('./metrics-endpoint.ts'),
      ]);
      this.metrics = new SkipperMetrics();
      this.counters = new JournalCounters(this.o.journal.sqlite, this.metrics);
      if (this.escalation?.pending) this.metrics.escalationPending.set(1);
      const token = this.o.secrets.metricsToken;
      const r = await serveMetrics(cfg.host, cfg.port, token, () => this.scrape());
      if ('error' in r) {
        this.o.log.error({ host: cfg.host, port: cfg.port }, r.error);
        this.raise({
          type: 'error',
          severity: 'warning',
          title: 'Metrics endpoint not started',
          message: `${r.error}. Trading continues; set metrics.port to a free port and restart to get metrics.`,
          key: 'metrics:listen',
        });
        return;
      }
      this.server = r;
      this.metricsPort = r.port;
      const loopback = cfg.host === '127.0.0.1' || cfg.host === '::1' || cfg.host === 'localhost';
      if (!loopback && !token)
        this.o.log.warn(
          { host: cfg.host },
          'metrics listen beyond loopback without METRICS_TOKEN: anyone who reaches the port can read them',
        );
      this.o.log.info({ host: cfg.host, port: r.port, token: !!token }, 'metrics endpoint listening');
    } catch (e) {
      this.o.log.error({ err: errorMessage(e) }, 'metrics not started');
    }
  }

  /** Hot path: the loop handed one candle to the engine; `t0` is performance.now() before it. */
  candle(symbol: string, t0: number): void {
    this.watchdog?.progress(symbol);
    if (this.metrics === undefined) return;
    let h = this.decisionBySymbol.get(symbol);
    if (h === undefined) {
      h = this.metrics.decision.labels({ symbol });
      this.decisionBySymbol.set(symbol, h);
    }
    h.observe((performance.now() - t0) / 1000);
  }

  /** The metrics text, with every state gauge read now. */
  async scrape(): Promise<string> {
    const m = this.metrics;
    if (!m) return '';
    this.refresh(m);
    return m.registry.metrics();
  }

  /** Series names the bot exports (for the dashboard check). */
  seriesNames(): string[] {
    return this.metrics?.seriesNames() ?? [];
  }

  private refresh(m: SkipperMetrics): void {
    const t = this.t;
    if (!t) return;
    const cfg = this.o.config;
    try {
      this.counters?.update();
      const st = t.status();
      const feeds = t.feeds();
      m.refresh(
        {
          mode: st.mode,
          venue: st.venue,
          environment: st.environment,
          strategy: cfg.strategy.name,
          quote: quoteOf(cfg.market.symbols),
          timeframeMs: TIMEFRAME_MS[cfg.market.timeframe],
          now: st.now,
          equity: st.equity,
          cash: st.cash,
          unrealizedPnl: st.unrealizedPnl,
          todayPnl: st.todayPnl,
          paused: st.paused,
          halted: st.halted,
          breaker: st.breaker,
          positions: st.positions,
          liveOrders: st.liveOrders,
          lastCandle: st.lastCandle,
          feeds: feeds.map((f) => ({ symbol: f.symbol, status: f.state.status })),
          venueUp: t.venue().up,
          approvalsPending: t.approvalsPending(),
        },
        this.counters?.realizedPnl ?? 0,
      );
      const w = this.watchdog;
      if (w) {
        for (const f of feeds) {
          const n = w.countFor(f.symbol);
          const before = this.countedCandles.get(f.symbol) ?? 0;
          if (n > before) m.candles.inc({ symbol: f.symbol }, n - before);
          else m.candles.inc({ symbol: f.symbol }, 0);
          this.countedCandles.set(f.symbol, n);
        }
      }
    } catch (e) {
      this.o.log.warn({ err: errorMessage(e) }, 'metrics refresh failed');
    }
  }

  async stop(): Promise<void> {
    this.backups.stop();
    this.escalation?.stop();
    await this.escalation?.settled();
    this.watchdog?.stop();
    await this.server?.close();
    this.server = undefined;
  }
}
