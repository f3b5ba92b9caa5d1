import { pino } from 'pino';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AlertService } from '../alerts/service.ts';
import { ApprovalService } from '../chat/approvals.ts';
import { ConsoleTransport } from '../chat/console.ts';
import { Notifier } from '../chat/transport.ts';
import type { TelegramTransport } from '../chat/telegram.ts';
import type { DiscordTransport } from '../chat/discord.ts';
import { transportAlertChannel } from '../alerts/render.ts';
import { ReportService } from '../reports/service.ts';
import { readSecrets, type Secrets } from '../config/env.ts';
import { UserError } from '../core/errors.ts';
import type { UserFromGetMe } from 'grammy/types';
import { randomBytes } from 'node:crypto';
import { STALE_BUTTON, type ButtonResult } from '../chat/dispatcher.ts';
import type { ChatUser, MessageRef } from '../chat/types.ts';
import { Dispatcher } from '../chat/dispatcher.ts';
import type { FeedInfo, Services, VenueState } from '../chat/services.ts';
import type { Config } from '../config/schema.ts';
import { ReplayClock, SimClock, WallClock, type Clock, type ReplayEnd } from '../core/clock.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import { TIMEFRAME_MS, type MarketInfo, type Timeframe } from '../core/types.ts';
import { defaultMarket, PaperExchange } from '../exchange/paper.ts';
import { PaperStore } from '../exchange/paper-store.ts';
import { CcxtExchange } from '../exchange/ccxt.ts';
import { isSimulatedVenue, type ExchangeClient } from '../exchange/types.ts';
import { Journal } from '../journal/journal.ts';
import type { CandleFeed } from '../market/feed.ts';
import { ReplayFeed } from '../market/replay-feed.ts';
import { CandleValidator } from '../market/validator.ts';
import { RiskEngine } from '../risk/engine.ts';
import type { RiskLimits, RiskState } from '../risk/types.ts';
import { createStrategy } from '../strategy/registry.ts';
import { COMMANDS } from '../../commands/index.ts';
import { Engine } from './engine.ts';
import { Reconciler } from './reconcile.ts';
import { quoteOf } from '../core/symbols.ts';

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
}

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
  readonly reports: ReportService;
  telegram: TelegramTransport | undefined;
  discord: DiscordTransport | undefined;
  private readonly secrets: Secrets;
  readonly feeds: CandleFeed[] = [];
  readonly startedAt: number;
  private stopped = false;
  /** Symbols that need a live feed: created at start (ccxt is loaded only when needed: it is large). */
  private readonly liveSymbols: string[] = [];
  private loops: Promise<void>[] = [];

  constructor(private readonly opts: BotOptions) {
    const cfg = opts.config;
    this.config = cfg;
    this.log = opts.logger ?? fileLogger(cfg, !cfg.chat.console.enabled);
    this.wall = opts.wallClock ?? new WallClock();
    const replay = opts.replay ?? (cfg.data.source === 'replay' ? cfg.data.replayFile : undefined);
    // Paper replays run on candle time, and after the replay ends on time moving on from its last
    // candle. Live trading always runs on real time: a real venue's receive windows, order timeouts and
    // reconciliation grace periods are wall-clock facts (replayed candles may still drive a live run in tests).
    const replayClock = replay && cfg.mode !== 'live' ? new ReplayClock(this.wall) : null;
    this.clock = replayClock ?? this.wall;
    this.startedAt = this.wall.now();
    this.journal = new Journal({ path: cfg.journal.path, synchronous: cfg.journal.synchronous, detail: 'full' });
    this.journal.startBackgroundCheckpoints();
    const replayEnded = this.journal.getState<ReplayEnd | null>(REPLAY_END_KEY, null);
    if (replayClock && replayEnded) replayClock.end(replayEnded);

    const quote = quoteOf(cfg.market.symbols);
    const startingCash = this.startingCash(quote);
    const markets = cfg.market.symbols.map((s) => paperMarket(cfg, s));
    this.secrets = opts.secrets ?? readSecrets();
    this.exchange = opts.exchange ?? this.createVenue(markets);

    this.alerts = new AlertService(this.journal, this.wall, this.log, {
      coalesceMs: cfg.alerts.coalesceSec * 1000,
      minSeverity: cfg.alerts.minSeverity,
    });
    const limits: RiskLimits = { ...cfg.risk };
    const riskState = this.journal.getState<RiskState | null>('risk', null);
    const risk = new RiskEngine(limits, riskState ?? undefined);
    // Limits changed from chat (/risk set) win over the config; setLimit re-validates each one.
    for (const [k, v] of Object.entries(this.journal.getState<Record<string, string | number | null>>('risk_limits', {}))) {
      const r = risk.setLimit(k, v ?? 'off');
      if (!r.ok) this.log.warn({ limit: k }, `saved risk limit ignored: ${r.error}`);
    }

    const timeframe: Timeframe = cfg.market.timeframe;
    this.engine = new Engine({
      mode: cfg.mode === 'backtest' ? 'paper' : cfg.mode,
      botId: cfg.botId,
      clock: this.clock,
      journal: this.journal,
      exchange: this.exchange,
      risk,
      alerts: this.alerts,
      logger: this.log,
      symbols: cfg.market.symbols.map((symbol) => ({
        symbol,
        timeframeMs: TIMEFRAME_MS[timeframe],
        strategy: createStrategy(cfg.strategy.name, symbol, { ...cfg.strategy.params, timeframeMs: TIMEFRAME_MS[timeframe] }),
        market: this.exchange.market(symbol),
        validator: new CandleValidator(symbol, timeframe),
      })),
      marketType: cfg.market.type,
      allowShort: cfg.market.allowShort && cfg.market.type === 'perp',
      leverage: cfg.market.leverage,
      takerFee: cfg.exchange.paper.takerFee,
      startingCash,
      equityEveryMs: cfg.journal.equityEverySec * 1000,
      persistProgress: true,
    });
    // A restart resumes the candle clock where it stopped, not at 0.
    for (const symbol of cfg.market.symbols) replayClock?.set(this.engine.resumeTs(symbol) + TIMEFRAME_MS[timeframe]);
    this.reconciler = new Reconciler(this.engine, this.journal, this.exchange, this.alerts, this.log, this.clock, {
      adoptExternal: cfg.exchange.adoptExternal,
      // A live order younger than the venue's receive window may still arrive: don't close it out yet.
      inFlightGraceMs: this.exchange.name === 'paper' ? 0 : cfg.exchange.recvWindowMs + 5_000,
    });
    this.engine.onReconnect = () =>
      void this.reconciler.run('reconnect').catch((e: unknown) => this.log.error({ err: e }, 'reconciliation failed'));
    this.notifier = new Notifier((transport, e) => this.log.error({ err: e, transport }, 'chat delivery failed'));
    this.approvals = new ApprovalService(this.journal, this.notifier, this.wall, this.log, this.alerts, cfg.approvals);
    this.engine.onTraderOrder = () => this.approvals.nudge();
    this.reports = new ReportService({
      journal: this.journal,
      engine: this.engine,
      notifier: this.notifier,
      clock: this.wall,
      log: this.log,
      config: cfg.reports,
    });

    const services: Services = {
      engine: this.engine,
      journal: this.journal,
      config: cfg,
      clock: this.wall,
      startedAt: this.startedAt,
      feeds: () => this.feedInfo(),
      venue: () => this.venueState(),
      commands: () => COMMANDS,
      logFile: cfg.log.file,
      alerts: this.alerts,
      approvals: this.approvals,
      reports: this.reports,
      reconcile: async (accept?: boolean) =>
        (await this.reconciler.run(accept ? 'accept' : 'command', { accept: accept ?? false })).summary,
    };
    this.dispatcher = new Dispatcher(COMMANDS, services, this.log, cfg.chat.confirmTimeoutSec * 1000);
    this.dispatcher.onButton('p', (user, parts) => this.approvals.onButton(user, parts));
    this.dispatcher.onButton('L', (user, parts) => this.onGoLive(user, parts));

    if (cfg.chat.console.enabled) {
      this.console = new ConsoleTransport(
        this.dispatcher,
        { input: (opts.input ?? process.stdin) as never, output: (opts.output ?? process.stdout) as never, role: cfg.chat.console.role },
        this.log,
      );
      this.alerts.addChannel(this.console);
      this.notifier.add(this.console);
    }

    // Chat transports are created at start: their libraries load only when they are enabled.
    if (cfg.chat.telegram.enabled && !this.secrets.telegramBotToken)
      throw new UserError('chat.telegram.enabled is true but TELEGRAM_BOT_TOKEN is not set');
    if (cfg.chat.discord.enabled && !this.secrets.discordBotToken)
      throw new UserError('chat.discord.enabled is true but DISCORD_BOT_TOKEN is not set');

    for (const symbol of cfg.market.symbols) {
      if (opts.feedFactory) this.feeds.push(opts.feedFactory(symbol));
      else if (replay) {
        this.feeds.push(
          new ReplayFeed({
            symbol,
            resampleTo: timeframe,
            path: replay,
            speed: opts.speed ?? cfg.data.speed,
            // A paper replay restarted: candles it already processed only warm the strategy up, at once.
            // (Replayed candles driving a live venue, in tests, keep their pace.)
            ...(replayClock ? { fastUntilTs: this.engine.resumeTs(symbol) } : {}),
            // Small batches die young in V8's nursery instead of piling up in old space: flat memory.
            batchSize: 256,
          }),
        );
      } else this.liveSymbols.push(symbol);
    }
  }

  /** The paper exchange (its books in the journal), or a real venue through ccxt (loaded at connect). */
  private createVenue(markets: MarketInfo[]): ExchangeClient {
    const cfg = this.config;
    if (cfg.exchange.name === 'paper') {
      return new PaperExchange({
        clock: this.clock,
        marketType: cfg.market.type,
        markets,
        startingBalances: cfg.exchange.paper.startingBalance,
        makerFee: cfg.exchange.paper.makerFee,
        takerFee: cfg.exchange.paper.takerFee,
        slippageBps: cfg.exchange.paper.slippageBps,
        maxVolumeParticipation: cfg.exchange.paper.maxVolumeParticipation,
        store: new PaperStore(this.journal),
      });
    }
    const { exchangeApiKey: apiKey, exchangeApiSecret: secret, exchangeApiPassword: password } = this.secrets;
    if (!apiKey || !secret)
      throw new UserError(`exchange.name ${cfg.exchange.name} needs EXCHANGE_API_KEY and EXCHANGE_API_SECRET in the environment`);
    return new CcxtExchange({
      venue: cfg.exchange.name,
      marketType: cfg.market.type,
      testnet: cfg.exchange.testnet,
      symbols: cfg.market.symbols,
      credentials: { apiKey, secret, ...(password ? { password } : {}) },
      clock: this.wall, // venue timing (receive windows, backoff) is real time, even when candles are replayed
      log: this.log,
      leverage: cfg.market.leverage,
      marginMode: cfg.exchange.marginMode,
      websocket: cfg.exchange.websocket,
      pollMs: cfg.exchange.pollSec * 1000,
      recvWindowMs: cfg.exchange.recvWindowMs,
      ...(cfg.exchange.apiUrl ? { apiUrl: cfg.exchange.apiUrl } : {}),
    });
  }

  /** A real account's starting cash is its quote balance when the bot first connected to it. */
  private async adoptStartingCash(): Promise<void> {
    const saved = this.journal.getState<{ startingCash: number; fromVenue?: boolean } | null>('account', null);
    if (saved?.fromVenue) return;
    const quote = quoteOf(this.config.market.symbols);
    const b = (await this.exchange.fetchBalances()).find((x) => x.asset === quote);
    const cash = b ? b.free + b.locked : 0;
    this.journal.setState('account', { startingCash: cash, quote, createdAt: this.wall.now(), fromVenue: true }, this.wall.now());
    this.engine.setStartingCash(cash);
  }

  /** The starting cash is fixed at the first start, so a later config change can't rewrite history. */
  private startingCash(quote: string): number {
    const saved = this.journal.getState<{ startingCash: number } | null>('account', null);
    if (saved) return saved.startingCash;
    if (this.config.exchange.name !== 'paper') return 0; // set from the venue's balance at the first connect
    const cash = this.config.exchange.paper.startingBalance[quote] ?? 0;
    this.journal.setState('account', { startingCash: cash, quote, createdAt: this.wall.now() }, this.wall.now());
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
      this.telegram = new TelegramTransport({
        token: secrets.telegramBotToken,
        ...(secrets.telegramApiRoot ? { apiRoot: secrets.telegramApiRoot } : {}),
        config: cfg.chat.telegram,
        dispatcher: this.dispatcher,
        commands: COMMANDS,
        log: this.log,
        ...(this.opts.telegram?.botInfo ? { botInfo: this.opts.telegram.botInfo } : {}),
      });
      this.notifier.add(this.telegram);
      this.alerts.addChannel(transportAlertChannel(this.telegram));
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
      this.alerts.addChannel(transportAlertChannel(this.discord));
    }
  }

  /** Connect, reconcile, start chat and the candle loops. Resolves once running. */
  async start(): Promise<void> {
    await this.createTransports();
    await this.exchange.connect();
    for (const symbol of this.config.market.symbols) this.engine.setMarket(symbol, this.exchange.market(symbol));
    if (this.exchange.name !== 'paper') await this.adoptStartingCash();
    if (this.liveSymbols.length) {
      const { LiveFeed } = await import('../market/live-feed.ts');
      const cfg = this.config;
      for (const symbol of this.liveSymbols) {
        this.feeds.push(
          new LiveFeed({
            exchangeId: cfg.data.exchange,
            marketType: cfg.market.type,
            symbol,
            timeframe: cfg.market.timeframe,
            clock: this.clock,
            alerts: this.alerts,
            logger: this.log,
            pollMs: cfg.data.pollSec * 1000,
            warmup: cfg.data.warmup,
            useWebsocket: cfg.data.websocket,
          }),
        );
      }
    }
    const rec = await this.reconciler.run('startup');
    this.engine.protectPositions();
    this.reconciler.startTimer(this.config.exchange.reconcileEverySec * 1000);
    this.approvals.attach(this.engine);
    for (const t of this.notifier.list()) await t.start();
    this.reports.start();
    const st = this.engine.status();
    this.say(
      `Skipper — ${st.mode === 'live' ? 'LIVE' : 'paper trading (simulated money)'} on ${st.venue}; ${this.config.market.symbols.join(', ')} ${this.config.market.timeframe}; ` +
        `strategy ${this.config.strategy.name}; journal ${this.journal.path}\n` +
        `Equity ${st.equity.toFixed(2)}, ${st.positions.length} open position(s). Reconciliation: ${rec.summary}. Type /help for commands.`,
    );
    if (this.engine.mode === 'live') await this.armLive();
    for (const feed of this.feeds) this.loops.push(this.runFeed(feed));
  }

  private liveNonce: string | undefined;
  private livePrompt: MessageRef[] = [];

  /**
   * Live trading starts only with an admin's explicit go: --confirm-live, or the Go live button. Until
   * then entries are paused (exits, stops and reconciliation run as usual).
   */
  private async armLive(): Promise<void> {
    const env = this.exchange.environment === 'testnet' ? 'TESTNET (test money)' : 'LIVE — REAL MONEY';
    if (this.opts.confirmLive) {
      this.log.warn({ venue: this.exchange.name, env }, 'live trading confirmed on the command line');
      return;
    }
    this.engine.pause('live start: waiting for an admin to confirm');
    this.liveNonce = randomBytes(6).toString('hex');
    this.livePrompt = await this.notifier.broadcast(
      {
        title: `Start trading ${env} on ${this.exchange.name}?`,
        text:
          `${this.config.market.symbols.join(', ')} ${this.config.market.type}, strategy ${this.config.strategy.name}. ` +
          `New entries are paused until an admin confirms; exits and stops are managed meanwhile.`,
        severity: 'critical',
        buttons: [
          [
            { label: 'Go live', data: `L:${this.liveNonce}:y`, style: 'danger' },
            { label: 'Stay paused', data: `L:${this.liveNonce}:n`, style: 'secondary' },
          ],
        ],
      },
      { type: 'engine', severity: 'critical' },
    );
  }

  private async onGoLive(user: ChatUser, parts: string[]): Promise<ButtonResult> {
    const [, nonce, yn] = parts;
    const audit = (outcome: string, detail: string) =>
      this.journal.recordCommand({
        ts: this.wall.now(),
        transport: user.transport,
        userId: user.id,
        ...(user.role ? { role: user.role } : {}),
        command: 'golive',
        args: yn ?? '',
        outcome,
        detail,
      });
    if (!this.liveNonce || nonce !== this.liveNonce || (yn !== 'y' && yn !== 'n')) {
      audit('invalid', 'stale or forged go-live button');
      return { toast: STALE_BUTTON };
    }
    if (user.role !== 'admin') {
      audit('refused', 'needs admin');
      return { toast: 'Only an admin can start live trading.' };
    }
    this.liveNonce = undefined;
    const by = user.name ?? user.id;
    const text = yn === 'y' ? `Live trading confirmed by ${by}.` : `${by} chose to stay paused. /resume starts trading later.`;
    if (yn === 'y') this.engine.resume(by);
    audit(yn === 'y' ? 'confirmed' : 'cancelled', text);
    await this.notifier.edit(this.livePrompt, { title: 'Live start', text, buttons: [] });
    return { toast: text };
  }

  private async runFeed(feed: CandleFeed): Promise<void> {
    const tfMs = TIMEFRAME_MS[feed.timeframe];
    const sim = this.clock instanceof SimClock ? this.clock : null;
    try {
      for await (const batch of feed.batches()) {
        if (this.stopped) break;
        for (const c of batch) {
          if (this.stopped) break;
          if (sim) sim.set(c.ts + tfMs);
          this.engine.onCandle(feed.symbol, c);
          // In a replay the market waits for the trader: hold the candle clock while a proposal is open,
          // but never while an order the trader placed is working (it needs candles to fill).
          while (
            sim &&
            !this.stopped &&
            this.config.approvals.holdReplay &&
            this.approvals.hasPending &&
            !this.engine.traderOrdersWorking()
          ) {
            await this.approvals.settled();
          }
        }
        // Give chat and timers a turn between batches, even at max replay speed.
        await new Promise<void>((r) => setImmediate(r));
      }
      if (!this.stopped) {
        const last = this.engine.status().lastCandle[feed.symbol];
        if (isSimulatedVenue(this.exchange)) this.exchange.freeze?.(feed.symbol, last);
        if (this.clock instanceof ReplayClock && this.feeds.every((f) => f.state().status === 'done')) {
          this.journal.setState(REPLAY_END_KEY, this.clock.end(), this.wall.now());
        }
        this.say(
          `Feed ${feed.name} finished (${feed.state().detail}). The bot keeps running; /status for the state; market orders now fill at the last price.`,
        );
      }
    } catch (e) {
      this.log.error({ err: e, feed: feed.name }, 'feed loop failed');
      this.alerts.raise({ type: 'feed_down', severity: 'critical', title: `Feed ${feed.name} stopped`, message: errorMessage(e) });
    }
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
    if (this.stopped) return;
    this.stopped = true;
    for (const f of this.feeds) f.stop();
    this.approvals.stop();
    this.reports.stop();
    this.reconciler.stop();
    for (const t of this.notifier.list()) await t.stop().catch(() => {});
    this.alerts.close();
    await Promise.race([Promise.all(this.loops), new Promise((r) => setTimeout(r, 2000))]);
    await this.settleInFlight();
    await this.exchange.close();
    this.journal.close();
    this.log.info('stopped');
  }
}

/** runtime_state: where the clock of a finished replay took over (so a restart continues from there). */
const REPLAY_END_KEY = 'replay_end';

/** A paper market: the defaults, with the precision and limits the config sets. */
function paperMarket(cfg: Config, symbol: string): MarketInfo {
  const p = cfg.exchange.paper;
  return {
    ...defaultMarket(symbol, cfg.market.type),
    qtyStep: p.qtyStep,
    priceStep: p.priceStep,
    minQty: p.qtyStep,
    minNotional: p.minNotional,
  };
}

/** Logs go to the log file; headless (no console transport), errors also go to stderr. */
function fileLogger(cfg: Config, errorsToStderr: boolean): Logger {
  mkdirSync(dirname(cfg.log.file), { recursive: true });
  const streams = pino.multistream([
    {
      level: cfg.log.level === 'silent' ? 'fatal' : cfg.log.level,
      stream: pino.destination({ dest: cfg.log.file, mkdir: true, sync: false }),
    },
    ...(errorsToStderr ? [{ level: 'error' as const, stream: pino.destination(2) }] : []),
  ]);
  return createLogger({ level: cfg.log.level, destination: streams });
}
