import { pino } from 'pino';
import { mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AlertService } from '../alerts/service.ts';
import { ApprovalService } from '../chat/approvals.ts';
import { ConsoleTransport } from '../chat/console.ts';
import { Notifier } from '../chat/transport.ts';
import type { TelegramTransport } from '../chat/telegram.ts';
import type { DiscordTransport } from '../chat/discord.ts';
import { transportAlertChannels } from '../chat/alert-render.ts';
import { ReportService } from '../reports/service.ts';
import { readSecrets, type Secrets } from '../config/env.ts';
import { checkStartup } from '../config/preflight.ts';
import { UserError } from '../core/errors.ts';
import type { UserFromGetMe } from 'grammy/types';
import { Dispatcher } from '../chat/dispatcher.ts';
import type { FeedInfo, Services, VenueState } from '../chat/services.ts';
import type { Config } from '../config/schema.ts';
import { ReplayClock, SimClock, WallClock, replayResumedText, type Clock } from '../core/clock.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import { TIMEFRAME_MS, type Timeframe } from '../core/types.ts';
import { VenueUnreachable } from '../exchange/ccxt/index.ts';
import { stopStep } from '../engine/stop-steps.ts';
import { isSimulatedVenue, type ExchangeClient } from '../exchange/types.ts';
import { Journal } from '../journal/journal.ts';
import { JournalFileError } from '../journal/file-guard.ts';
import type { CandleFeed } from '../market/feed.ts';
import { ReplayFeed } from '../market/replay-feed.ts';
import { LazyLiveFeed } from '../market/lazy-live-feed.ts';
import { STATE } from '../journal/state-keys.ts';
import { createModelRuntime, type ModelRuntime } from '../models/wire.ts';
import { COMMANDS } from '../../commands/index.ts';
import type { Engine } from '../engine/engine.ts';
import { buildEngine, riskFor } from './kernel.ts';
import { createVenue } from './venues.ts';
import { GO_LIVE_PREFIX, GoLive } from './go-live.ts';
import { JournalHealth, type JournalFault } from '../journal/health.ts';
import { Reconciler } from '../engine/reconcile.ts';
import { quoteOf } from '../core/symbols.ts';
import { dataSourceOf, type DataSource } from '../config/data-source.ts';
import { approvalsUnseen } from '../chat/routes.ts';
import { transportSummary } from '../chat/transports-summary.ts';
import { startAlert, startBanner } from './start-notice.ts';
import { Ops } from '../ops/ops.ts';
import { ACK_PREFIX } from '../ops/escalation.ts';
import { instrumentCcxt } from '../ops/venue-metrics.ts';
import { ConfigReloader } from './config-reload.ts';
import { AlgoExecutor } from '../execution/algo.ts';
import type { GridRunner } from '../grid/manager.ts';
import { runCandles } from './candle-loop.ts';

export interface BotOptions {
  config: Config;
  /** Replay file (overrides config.data). */
  replay?: string;
  speed?: number | 'max';
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Inject a logger (tests). */
  logger?: Logger;
  /** Wall clock for people-facing time (tests inject a fake). */
  wallClock?: Clock;
  /** Exchange override (tests, live adapters). */
  exchange?: ExchangeClient;
  /** Live feed override factory (tests). */
  feedFactory?: (symbol: string) => CandleFeed;
  /** Secrets (default: read from the environment). */
  secrets?: Secrets;
  telegram?: { botInfo?: UserFromGetMe };
  discord?: { gateway?: boolean };
  /** Live mode: the admin confirmed on the command line (--confirm-live); otherwise chat asks. */
  confirmLive?: boolean;
  /** Where the config came from, for error messages (default "(config)"). */
  configFile?: string;
}

/** How often max holding time is checked between candles (wall time). */
const HOLD_CHECK_MS = 5_000;

/** The whole bot: journal, venue, risk, engine, feeds and chat, wired from the config. */
export class Bot {
  readonly config: Config;
  readonly journal: Journal;
  readonly log: Logger;
  readonly clock: Clock;
  readonly wall: Clock;
  readonly engine: Engine;
  readonly alerts: AlertService;
  readonly dispatcher: Dispatcher;
  readonly console: ConsoleTransport | undefined;
  readonly exchange: ExchangeClient;
  readonly reconciler: Reconciler;
  readonly notifier: Notifier;
  readonly approvals: ApprovalService;
  private readonly goLive: GoLive;
  readonly reports: ReportService;
  /** TWAP/iceberg parents (src/execution). */
  readonly algos: AlgoExecutor;
  /** The grid strategy's grids (src/grid); undefined for other strategies. */
  readonly grid: GridRunner | undefined;
  /** What feeds the bot (/mode, /status, the start banner). */
  readonly dataSource: DataSource;
  readonly ops: Ops;
  telegram: TelegramTransport | undefined;
  discord: DiscordTransport | undefined;
  private readonly secrets: Secrets;
  readonly feeds: CandleFeed[] = [];
  private holdTimer: NodeJS.Timeout | undefined;
  readonly startedAt: number;
  private stopped = false;
  get isStopped(): boolean {
    return this.stopped;
  }
  readonly journalHealth: JournalHealth;
  /** The process exit code when it stops: 0, or 3 after a journal fault. */
  exitCode = 0;
  private resolveDone!: () => void;
  /** Resolves once the bot has stopped (asked to, or on its own after losing its journal). */
  readonly done = new Promise<void>((r) => (this.resolveDone = r));
  /** Symbols that need a live feed: created at start (ccxt is loaded only when needed: it is large). */
  private readonly liveSymbols: string[] = [];
  private loops: Promise<void>[] = [];
  /** Model/ensemble strategies: the models, their predictions and outcomes (null for indicator strategies). */
  readonly models: ModelRuntime | null;

  constructor(private readonly opts: BotOptions) {
    const cfg = opts.config;
    this.config = cfg;
    this.secrets = opts.secrets ?? readSecrets();
    checkStartup(cfg, opts.configFile ?? '(config)', {
      ...(opts.replay ? { replay: opts.replay } : {}),
      secrets: this.secrets,
      injected: { exchange: !!opts.exchange, feeds: !!opts.feedFactory, logger: !!opts.logger },
    });
    this.log = opts.logger ?? fileLogger(cfg, !cfg.chat.console.enabled);
    this.wall = opts.wallClock ?? new WallClock();
    this.dataSource = dataSourceOf(cfg.data, { replay: opts.replay, speed: opts.speed });
    const replay = this.dataSource.kind === 'replay' ? this.dataSource.file : undefined;
    // Paper replays run on candle time, and after the replay ends on time moving on from its last
    // candle. Live trading always runs on real time: a real venue's receive windows, order timeouts and
    // reconciliation grace periods are wall-clock facts (replayed candles may still drive a live run in tests).
    const replayClock = replay && cfg.mode !== 'live' ? new ReplayClock(this.wall) : null;
    this.clock = replayClock ?? this.wall;
    this.startedAt = this.wall.now();
    this.journal = openJournal(cfg, (e) => this.journalHealth.writeFailed(e));
    this.journal.startBackgroundCheckpoints();
    this.journalHealth = new JournalHealth(this.journal, this.wall, (f) => this.onJournalFault(f));
    const replayEnded = STATE.replayEnd.read(this.journal);
    if (replayClock && replayEnded) replayClock.end(replayEnded);

    const quote = quoteOf(cfg.market.symbols);
    const startingCash = this.startingCash(quote);
    this.ops = new Ops({ config: cfg, wall: this.wall, log: this.log, journal: this.journal, secrets: this.secrets });
    const risk = riskFor(cfg, this.journal, { log: this.log, clock: this.clock });
    if (replayClock)
      replayClock.onResume = (reached, end) => {
        STATE.replayEnd.write(this.journal, null, this.wall.now()); // a restart from here resumes on candle time
        risk.clockWentBack(replayClock.now());
        this.say(replayResumedText(reached, end));
      };
    this.exchange =
      opts.exchange ??
      createVenue(cfg, {
        maxLeverage: risk.limits.maxLeverage,
        clock: this.clock,
        wall: this.wall,
        journal: this.journal,
        secrets: this.secrets,
        log: this.log,
        // Until the bot runs, every wait for the venue is said on the console too (later: the log).
        onWait: (m) => {
          if (!this.running) this.say(`Start-up waits: ${m}`);
        },
        instrument: (ex) => instrumentCcxt(ex, cfg.exchange.name, this.ops.venueObserver),
      });

    this.alerts = new AlertService(this.journal, this.wall, this.log, {
      coalesceMs: cfg.alerts.coalesceSec * 1000,
      minSeverity: cfg.alerts.minSeverity,
      observer: this.ops.alertObserver,
    });
    this.notifier = new Notifier((transport, e) => this.log.error({ err: e, transport }, 'chat delivery failed'));
    this.approvals = new ApprovalService(this.journal, this.notifier, this.wall, this.log, this.alerts, cfg.approvals);
    const timeframe: Timeframe = cfg.market.timeframe;
    this.models = createModelRuntime(cfg, {
      journal: this.journal,
      alerts: this.alerts,
      log: this.log,
      wall: this.wall,
      metrics: this.ops.modelObserver,
    });
    const jump = { sigmas: cfg.data.jumpSigmas, minPct: cfg.data.jumpMinPct };
    const kernel = buildEngine(cfg, {
      mode: cfg.mode === 'backtest' ? 'paper' : cfg.mode,
      clock: this.clock,
      journal: this.journal,
      exchange: this.exchange,
      risk,
      alerts: this.alerts,
      logger: this.log,
      ...(this.models ? { strategy: (symbol: string) => this.models!.strategy(symbol, TIMEFRAME_MS[timeframe]) } : {}),
      approvals: this.approvals,
      // The first connect is part of start-up, whose own run ('startup') follows: only later ones are reconnects.
      onReconnect: () => {
        if (this.running) void this.reconciler.run('reconnect').catch((e: unknown) => this.log.error({ err: e }, 'reconciliation failed'));
      },
      onTraderOrder: () => this.approvals.nudge(),
      startingCash,
      persistProgress: true,
    });
    this.engine = kernel.engine;
    this.grid = kernel.grid;
    // A restart resumes the candle clock where it stopped, not at 0.
    for (const symbol of cfg.market.symbols) replayClock?.set(this.engine.resumeTs(symbol) + TIMEFRAME_MS[timeframe]);
    this.reconciler = new Reconciler(this.engine, this.journal, this.exchange, this.alerts, this.log, this.clock, {
      adoptExternal: cfg.exchange.adoptExternal,
      // A live order younger than the venue's receive window may still arrive: don't close it out yet.
      inFlightGraceMs: this.exchange.name === 'paper' ? 0 : cfg.exchange.recvWindowMs + 5_000,
    });
    this.algos = kernel.algos!; // built for every run but a backtest
    this.reports = new ReportService({
      journal: this.journal,
      engine: this.engine,
      notifier: this.notifier,
      clock: this.clock,
      wall: this.wall,
      candleTime: this.clock !== this.wall,
      log: this.log,
      config: cfg.reports,
      ...(this.models ? { models: this.models.store } : {}),
    });

    const services: Services = {
      engine: this.engine,
      journal: this.journal,
      config: cfg,
      clock: this.wall,
      startedAt: this.startedAt,
      feeds: () => this.feedInfo(),
      dataSource: () => this.dataSource,
      venue: () => this.venueState(),
      commands: () => COMMANDS,
      logFile: cfg.log.file,
      alerts: this.alerts,
      approvals: this.approvals,
      reports: this.reports,
      backups: this.ops.backups,
      reconcile: async (accept?: boolean) =>
        (await this.reconciler.run(accept ? 'accept' : 'command', { accept: accept ?? false })).summary,
      journalFault: () => this.journalFaultText(),
      configControls: new ConfigReloader({
        config: cfg,
        file: opts.configFile && opts.configFile !== '(defaults)' ? opts.configFile : undefined,
        startup: {
          ...(opts.replay ? { replay: opts.replay } : {}),
          secrets: this.secrets,
          injected: { exchange: !!opts.exchange, feeds: !!opts.feedFactory, logger: !!opts.logger },
        },
        engine: this.engine,
        journal: this.journal,
        alerts: this.alerts,
        approvals: this.approvals,
        reports: this.reports,
        notifier: this.notifier,
        escalation: () => this.ops.escalations,
        wall: this.wall,
        log: this.log,
      }),
      algos: this.algos,
      ...(this.grid ? { grid: this.grid } : {}),
      ...(this.models ? { models: this.models.controls() } : {}),
    };
    this.goLive = new GoLive({
      config: cfg,
      engine: this.engine,
      journal: this.journal,
      notifier: this.notifier,
      wall: this.wall,
      log: this.log,
    });
    this.dispatcher = new Dispatcher(COMMANDS, services, this.log, cfg.chat.confirmTimeoutSec * 1000);
    this.dispatcher.onButton('p', (user, parts) => this.approvals.onButton(user, parts));
    this.dispatcher.onButton(GO_LIVE_PREFIX, (user, parts) => this.goLive.onButton(user, parts));
    this.dispatcher.onButton(ACK_PREFIX, (user, parts) => this.ops.onAckButton(user, parts));
    this.ops.attach({
      status: () => this.engine.status(),
      controls: this.engine,
      feeds: () => this.feedInfo(),
      venue: () => this.venueState(),
      approvalsPending: () => this.approvals.pendingList().length,
      holding: () => this.clock instanceof SimClock && cfg.approvals.holdReplay && this.approvals.hasPending,
      alerts: this.alerts,
      notifier: this.notifier,
    });

    if (cfg.chat.console.enabled) {
      this.console = new ConsoleTransport(
        this.dispatcher,
        {
          input: (opts.input ?? process.stdin) as never,
          output: (opts.output ?? process.stdout) as never,
          role: cfg.chat.console.role,
          chartsDir: join(dirname(cfg.journal.path === ':memory:' ? 'data/skipper.db' : cfg.journal.path), 'charts'),
        },
        this.log,
      );
      this.alerts.addChannel(this.console);
      this.notifier.add(this.console);
    }

    // Chat transports are created at start: their libraries load only when they are enabled.
    for (const symbol of cfg.market.symbols) {
      if (opts.feedFactory) this.feeds.push(opts.feedFactory(symbol));
      else if (replay) {
        this.feeds.push(
          new ReplayFeed({
            symbol,
            resampleTo: timeframe,
            path: replay,
            speed: this.dataSource.kind === 'replay' ? this.dataSource.speed : 'max',
            jump,
            // A paper replay restarted: candles it already processed only warm the strategy up, at once.
            // (Replayed candles driving a live venue, in tests, keep their pace.)
            ...(replayClock ? { fastUntilTs: this.engine.resumeTs(symbol) } : {}),
            // Small batches die young in V8's nursery instead of piling up in old space: flat memory.
            batchSize: 256,
          }),
        );
      } else this.liveSymbols.push(symbol);
    }
    if (opts.feedFactory) this.dataSource = { kind: 'feeds', names: this.feeds.map((f) => f.name) };
  }

  /** A real account's starting cash is its quote balance when the bot first connected to it. */
  private async adoptStartingCash(): Promise<void> {
    const saved = STATE.account.read(this.journal);
    if (saved?.fromVenue) return;
    const quote = quoteOf(this.config.market.symbols);
    const b = (await this.exchange.fetchBalances()).find((x) => x.asset === quote);
    const cash = b ? b.free + b.locked : 0;
    STATE.account.write(this.journal, { startingCash: cash, quote, createdAt: this.wall.now(), fromVenue: true }, this.wall.now());
    this.engine.setStartingCash(cash);
  }

  /** The starting cash is fixed at the first start, so a later config change can't rewrite history. */
  private startingCash(quote: string): number {
    const saved = STATE.account.read(this.journal);
    if (saved) return saved.startingCash;
    if (this.config.exchange.name !== 'paper') return 0; // set from the venue's balance at the first connect
    const cash = this.config.exchange.paper.startingBalance[quote] ?? 0;
    STATE.account.write(this.journal, { startingCash: cash, quote, createdAt: this.wall.now() }, this.wall.now());
    return cash;
  }

  private feedInfo(): FeedInfo[] {
    return this.feeds.map((f) => ({ name: f.name, symbol: f.symbol, state: f.state() }));
  }

  private venueState(): VenueState {
    const st = this.exchange.status?.();
    return st ? { up: st.up, detail: st.detail, since: st.since } : { up: true, detail: this.exchange.environment };
  }

  private async createTransports(): Promise<void> {
    const cfg = this.config;
    const secrets = this.secrets;
    if (cfg.chat.telegram.enabled && secrets.telegramBotToken) {
      const { TelegramTransport } = await import('../chat/telegram.ts');
      const hook = cfg.chat.telegram.webhook;
      const { TelegramWebhook } = hook ? await import('../ops/telegram-webhook.ts') : { TelegramWebhook: undefined };
      this.telegram = new TelegramTransport({
        token: secrets.telegramBotToken,
        ...(secrets.telegramApiRoot ? { apiRoot: secrets.telegramApiRoot } : {}),
        config: cfg.chat.telegram,
        dispatcher: this.dispatcher,
        commands: COMMANDS,
        log: this.log,
        ...(this.opts.telegram?.botInfo ? { botInfo: this.opts.telegram.botInfo } : {}),
        ...(hook && TelegramWebhook && secrets.telegramWebhookSecret
          ? {
              webhook: new TelegramWebhook(
                { ...hook, secretToken: secrets.telegramWebhookSecret },
                this.log.child({ transport: 'telegram' }),
              ),
            }
          : {}),
      });
      this.notifier.add(this.telegram);
      for (const ch of transportAlertChannels(this.telegram)) this.alerts.addChannel(ch);
    }
    if (cfg.chat.discord.enabled && secrets.discordBotToken) {
      const { DiscordTransport } = await import('../chat/discord.ts');
      this.discord = new DiscordTransport({
        token: secrets.discordBotToken,
        ...(secrets.discordApiRoot ? { apiRoot: secrets.discordApiRoot } : {}),
        config: cfg.chat.discord,
        dispatcher: this.dispatcher,
        commands: COMMANDS,
        log: this.log,
        ...(this.opts.discord?.gateway !== undefined ? { gateway: this.opts.discord.gateway } : {}),
      });
      this.notifier.add(this.discord);
      for (const ch of transportAlertChannels(this.discord)) this.alerts.addChannel(ch);
    }
  }

  /** Connect, reconcile, start chat and the candle loops. Resolves once running. */
  async start(): Promise<void> {
    await this.ops.start();
    await this.models?.start();
    await this.createTransports();
    const deadline = this.wall.now() + this.config.exchange.startupTimeoutSec * 1000;
    await this.untilVenue('connect', deadline, () => this.exchange.connect());
    for (const symbol of this.config.market.symbols) this.engine.setMarket(symbol, this.exchange.market(symbol));
    if (this.exchange.name !== 'paper') await this.untilVenue('read the starting balance', deadline, () => this.adoptStartingCash());
    if (this.liveSymbols.length) {
      const cfg = this.config;
      for (const symbol of this.liveSymbols) {
        this.feeds.push(
          new LazyLiveFeed({
            exchangeId: cfg.data.exchange,
            marketType: cfg.market.type,
            symbol,
            timeframe: cfg.market.timeframe,
            clock: this.clock,
            alerts: this.alerts,
            logger: this.log,
            pollMs: cfg.data.pollSec * 1000,
            // At least what the strategy (a model's features) and the volatility limit need: with less, a
            // restart would not decide for hundreds of candles (days on 1h), saying nothing.
            warmup: Math.max(cfg.data.warmup, this.engine.historyNeeded(symbol)),
            useWebsocket: cfg.data.websocket,
          }),
        );
      }
    }
    this.journalHealth.start();
    const rec = await this.untilVenue('reconcile the journal with the venue', deadline, async () => {
      const r = await this.reconciler.run('startup');
      if (r.status === 'failed') throw new Error(r.summary);
      return r;
    });
    this.running = true;
    this.engine.protectPositions();
    this.reconciler.startTimer(this.config.exchange.reconcileEverySec * 1000);
    // Before the first tick: one far past its plan stops here; the start notice names every one.
    const parents = this.algos.resumeAtStart();
    this.algos.startTimer();
    // Max holding time between candles too: after a replay has ended, while a live feed brings none.
    this.holdTimer = setInterval(() => {
      try {
        this.engine.checkHoldTimes();
      } catch (e) {
        this.log.error({ err: e }, 'max holding time check failed');
      }
    }, HOLD_CHECK_MS).unref();
    this.approvals.attach(this.engine);
    for (const t of this.notifier.list()) await t.start();
    this.reports.start();
    const st = this.engine.status();
    const chat = transportSummary(this.config.chat, this.secrets);
    const unseen = approvalsUnseen(this.config.chat, this.approvals.mode().mode);
    if (unseen) chat.warnings.push(unseen);
    for (const w of chat.warnings) this.log.warn(w);
    const facts = {
      config: this.config,
      status: st,
      journalPath: this.journal.path,
      data: this.dataSource,
      reconciliation: rec.summary,
      pendingProposals: this.approvals.pendingList().length,
      parents,
    };
    this.say(startBanner(facts, chat));
    this.alerts.raise(startAlert(facts));
    if (this.engine.mode === 'live') {
      await this.goLive.arm({
        venue: this.exchange.name,
        testnet: this.exchange.environment === 'testnet',
        confirmed: !!this.opts.confirmLive,
      });
    }
    for (const feed of this.feeds) this.loops.push(this.runFeed(feed));
  }

  /** Start-up is over (the venue answered and the journal is reconciled). */
  private running = false;

  /**
   * A start-up step that needs the venue: while the venue is only unreachable (network, 5xx, rate
   * limit, garbage answers) it is tried again, saying so, until `deadline`; then start-up gives up
   * with one clear error (the CLI exits non-zero). A refusal (bad keys, no market) fails at once.
   */
  private async untilVenue<T>(what: string, deadline: number, step: () => Promise<T>): Promise<T> {
    const venue = this.exchange.name;
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (e) {
        if (e instanceof UserError && !(e instanceof VenueUnreachable)) throw e;
        const left = deadline - this.wall.now();
        const why = errorMessage(e);
        if (left <= 0) {
          await this.exchange.close().catch(() => undefined);
          const secs = this.config.exchange.startupTimeoutSec;
          throw new UserError(
            `gave up starting after ${secs} s: could not ${what} on ${venue}: ${why}. Nothing was traded. ` +
              `Check the venue's status and the network, then start again (exchange.startupTimeoutSec: how long start-up waits).`,
          );
        }
        const ms = Math.min(left, 1000 * 2 ** Math.min(attempt - 1, 4));
        const text = `Could not ${what} on ${venue} (${why}); trying again in ${Math.ceil(ms / 1000)} s, giving up in ${Math.ceil(left / 1000)} s.`;
        this.log.warn({ venue, attempt, err: why }, text);
        this.say(text);
        if (attempt === 1)
          this.alerts.raise({
            type: 'exchange_down',
            severity: 'warning',
            title: `Start-up waits for ${venue}`,
            message: text,
            key: 'startup-wait',
          });
        await new Promise((r) => setTimeout(r, ms)); // keeps the process alive while it waits
      }
    }
  }

  private async runFeed(feed: CandleFeed): Promise<void> {
    const tfMs = TIMEFRAME_MS[feed.timeframe];
    const sim = this.clock instanceof SimClock ? this.clock : null;
    const started = performance.now();
    try {
      for await (const batch of feed.batches()) {
        if (this.stopped) break;
        await runCandles(this, feed.symbol, batch, sim, tfMs);
        if (this.journalHealth.fault) break;
        // Give chat and timers a turn between batches, even at max replay speed.
        await new Promise<void>((r) => setImmediate(r));
      }
      if (!this.stopped && !this.journalHealth.fault) {
        const last = this.engine.status().lastCandle[feed.symbol];
        if (isSimulatedVenue(this.exchange)) this.exchange.freeze?.(feed.symbol, last);
        if (this.clock.kind === 'after_replay' && last && last.ts <= this.engine.resumeTs(feed.symbol))
          this.say(`Nothing new in ${feed.name}: no candle after the last one processed; the clock keeps moving on (replay time).`);
        if (this.clock instanceof ReplayClock && this.feeds.every((f) => f.state().status === 'done')) {
          STATE.replayEnd.write(this.journal, this.clock.end(), this.wall.now());
        }
        const ms = Math.round(performance.now() - started);
        this.log.info({ feed: feed.name, ms, ...this.engine.candleCounts(feed.symbol) }, 'feed finished'); // bench/replay.ts reads it
        this.say(
          `Feed ${feed.name} finished (${feed.state().detail}). The bot keeps running; /status for the state; market orders now fill at the last price.`,
        );
      }
    } catch (e) {
      // A journal fault has its own alert (the alert journal may be what failed).
      if (this.journalHealth.fault) {
        this.log.warn({ feed: feed.name, error: errorMessage(e) }, 'feed stopped by the journal fault');
        return;
      }
      this.log.error({ err: e, feed: feed.name }, 'feed loop failed');
      this.alerts.raise({ type: 'feed_down', severity: 'critical', title: `Feed ${feed.name} stopped`, message: errorMessage(e) });
    }
  }

  /**
   * The journal can't be written (lost or failing): nothing may be traded that can't be journaled
   * first. Entries are blocked, candles stop, a critical alert goes straight to chat (not through the
   * alert journal), and a lost journal stops the bot rather than writing into a ghost.
   */
  private onJournalFault(f: JournalFault): void {
    this.exitCode = 3;
    const text = this.journalFaultText()!;
    this.engine.risk.haltForFault(f.kind === 'lost' ? 'the journal file is gone' : `journal write failed (${f.reason})`);
    for (const feed of this.feeds) feed.stop();
    this.reconciler.stop();
    this.reports.stop();
    this.log.fatal({ fault: f }, text);
    const sent = this.notifier
      .broadcast(
        { title: f.kind === 'lost' ? 'Journal lost: stopping' : 'Journal write failed: trading stopped', text, severity: 'critical' },
        { type: 'risk_halt', severity: 'critical' },
      )
      .catch(() => []);
    if (f.kind === 'lost') {
      void Promise.race([sent, new Promise((r) => setTimeout(r, 5000))])
        .then(() => this.stop())
        .catch((e: unknown) => this.log.error({ err: e }, 'stop after the journal fault failed'));
    }
  }

  /** What a journal fault means for this bot, in words (null when there is none). */
  private journalFaultText(): string | null {
    const f = this.journalHealth.fault;
    if (!f) return null;
    const venue = this.exchange.name;
    const orders =
      this.engine.mode === 'live'
        ? `The protective stop-loss and take-profit orders stay on ${venue} and keep working; nothing new is sent.`
        : 'The paper exchange no longer simulates anything: open positions have NO working stop-loss or take-profit until the bot runs again.';
    if (f.kind === 'lost') {
      return `${f.reason}. Trading stopped and the bot is shutting down rather than write into a file nobody can read. ${orders} Put the journal back (or start a new account) and start the bot again.`;
    }
    return `Journal write failed: ${f.reason}. No new entries; no more candles are processed. ${orders} Free disk space (or fix the journal's storage) and restart: the journal holds everything up to the failed write.`;
  }

  /**
   * Orders handed to a remote venue and not yet acknowledged (a stop placed at start, say) get a
   * moment to be answered, so a clean stop leaves none unresolved (bounded: a restart resolves the rest).
   */
  private async settleInFlight(): Promise<void> {
    if (isSimulatedVenue(this.exchange)) return;
    const waiting = () => [...this.engine.liveOrders.values()].some((o) => o.status === 'submitted' || o.status === 'unknown');
    // Real time, not a clock's: the venue answers in real time whatever clock the engine keeps.
    for (let tries = Math.ceil((this.config.exchange.recvWindowMs + 5_000) / 50); waiting() && tries > 0; tries--) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private say(text: string): void {
    const out = this.opts.output ?? process.stdout;
    out.write(text + '\n');
  }

  /** Wait for every feed loop to end (replays end; live feeds run until stop). */
  async feedsDone(): Promise<void> {
    await Promise.all(this.loops);
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.done;
    this.stopped = true;
    const step = (name: string, fn: () => unknown) => stopStep(this.log, name, fn);
    try {
      await step('journal watch', () => this.journalHealth.stop());
      for (const f of this.feeds) await step(`feed ${f.name}`, () => f.stop());
      await step('approvals', () => this.approvals.stop());
      await step('reports', () => this.reports.stop());
      await step('reconciler', () => this.reconciler.stop());
      await step('algos', () => this.algos.stopTimer());
      clearInterval(this.holdTimer);
      // Pending summaries go out while the transports are still up; a faulted journal can't take them.
      if (!this.journalHealth.fault) await step('alert flush', () => this.alerts.flush());
      await step('ops', () => this.ops.stop());
      for (const t of this.notifier.list()) await step(`transport ${t.name}`, () => t.stop());
      await step('alerts', () => this.alerts.close());
      await step('feed loops', () => Promise.race([Promise.all(this.loops), new Promise((r) => setTimeout(r, 2000))]));
      await step('models', () => this.models?.stop());
      await step('in-flight orders', () => this.settleInFlight());
      await step('exchange', () => this.exchange.close());
      await step('journal', () => this.journal.close());
      this.log.info('stopped');
    } finally {
      this.resolveDone();
    }
  }
}

/** The journal named by journal.path; a file that can't be used is a UserError naming the key. */
function openJournal(cfg: Config, onWriteFailure: (e: Error) => void): Journal {
  try {
    return new Journal({ path: cfg.journal.path, synchronous: cfg.journal.synchronous, detail: 'full', onWriteFailure });
  } catch (e) {
    throw e instanceof JournalFileError ? new UserError(`journal.path: ${e.message}`) : e;
  }
}

/**
 * Logs go to the log file; headless (no console transport), errors also go to stderr. The file is
 * opened here, synchronously: a log.file that can't be written stops the start with its name, and the
 * stream is ready at once (an early exit can flush it).
 */
function fileLogger(cfg: Config, errorsToStderr: boolean): Logger {
  const file = cfg.log.file;
  let fd: number;
  try {
    mkdirSync(dirname(file), { recursive: true });
    fd = openSync(file, 'a');
  } catch (e) {
    throw new UserError(`log.file: cannot write ${file} (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)})`);
  }
  const dest = pino.destination({ fd, sync: false });
  let failed = false;
  dest.on('error', (e: Error) => {
    // A log that can't be written (disk full…) must not take the bot down: say so once, on stderr.
    if (failed) return;
    failed = true;
    process.stderr.write(`skipper: cannot write the log file ${file} (${e.message}); log lines are lost until it is fixed\n`);
  });
  const streams = pino.multistream([
    {
      level: cfg.log.level === 'silent' ? 'fatal' : cfg.log.level,
      stream: dest,
    },
    ...(errorsToStderr ? [{ level: 'error' as const, stream: pino.destination(2) }] : []),
  ]);
  return createLogger({ level: cfg.log.level, destination: streams });
}
