/*
 * The ccxt adapter's foundation: its state, and every request's path to the venue — the request gate
 * (request-gate.ts: rate-limit pauses, answer checks with replies.ts), retries with backoff, failure
 * classes, the connection state for /status, alerts. The layers above: sync.ts (venue → updates and
 * fills), orders.ts (submit, resolve, cancel), adapter.ts (connect, markets, reads: CcxtExchange).
 */
import type { Exchange } from 'ccxt';
import { setMaxListeners } from 'node:events';
import type { AlertInput } from '../../core/alerts.ts';
import type { Clock } from '../../core/clock.ts';
import { UserError, errorMessage } from '../../core/errors.ts';
import { registerSecret, type Logger } from '../../core/logger.ts';
import type { MarketInfo, MarketType, VenueEnvironment } from '../../core/types.ts';
import type { ExchangeListener, VenueStatus } from '../types.ts';
import { classifyFailure, clean, venueWords } from './errors.ts';
import { replyProblem } from './replies.ts';
import { BackoffState, installRequestGate, type Backoff } from './request-gate.ts';
import type { CcxtModule, Failure, VenueSpec } from './spec.ts';
import { CCXT_SPECS } from './specs.ts';
import {
  READ_ATTEMPTS,
  READ_BASE_MS,
  READ_MAX_MS,
  SLOWDOWN_FACTOR,
  SLOWDOWN_MS,
  fmtSec,
  hhmmss,
  type CcxtExchangeOptions,
  type Tracked,
} from './state.ts';

/**
 * A wait that keeps the process alive (a retry at start-up is all there is to do then) and ends
 * early when the adapter closes.
 */
const realSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });

export abstract class CcxtRequests {
  readonly name: string;
  readonly environment: VenueEnvironment;
  readonly marketType: MarketType;

  protected readonly o: CcxtExchangeOptions;
  protected readonly spec: VenueSpec;
  protected readonly clock: Clock;
  protected readonly log: Logger;
  protected readonly sleepFn: (ms: number, signal?: AbortSignal) => Promise<void>;
  protected listener: ExchangeListener | null = null;
  protected cx: CcxtModule | null = null;
  protected ex: Exchange | null = null;
  protected connected = false;
  protected closed = false;
  protected readonly abort = new AbortController();
  protected loops: Promise<void>[] = [];

  protected readonly markets = new Map<string, MarketInfo>();
  protected readonly tracked = new Map<string, Tracked>();
  /** Venue order id (incl. the orders triggered conditionals became) → our client order id. */
  protected readonly idToCoid = new Map<string, string>();
  protected readonly seenTrades = new Set<string>();
  protected readonly seenFunding = new Set<string>();
  protected readonly tradeCursor = new Map<string, { since: number; lastId?: string }>();
  protected readonly fundingCursor = new Map<string, number>();
  protected readonly tradeLocks = new Map<string, Promise<unknown>>();
  protected readonly leverageSet = new Map<string, number>();
  protected readonly tickers = new Map<string, { price: number; at: number }>();
  protected readonly feeWarned = new Set<string>();
  /** Trades with impossible numbers already reported (each alerted once). */
  protected readonly badTrades = new Set<string>();
  protected nextFundingPoll = 0;

  // connection state for /status
  protected up = false;
  protected upSince: number;
  protected detail = 'not connected';
  protected lastError: string | undefined;
  /** The venue asked us to back off until then: no request leaves before (see request-gate.ts). */
  protected readonly backoffState = new BackoffState();
  /** Waits already announced through onWait (one line per pause, not per request). */
  protected announcedUntil = 0;
  protected slowUntil = 0;
  protected baseRateLimit = 0;
  protected streamDown = false;

  constructor(opts: CcxtExchangeOptions) {
    this.o = opts;
    const spec = (CCXT_SPECS as Partial<Record<string, VenueSpec>>)[opts.venue];
    if (!spec) throw new UserError(`${opts.venue} is not supported yet (supported: ${Object.keys(CCXT_SPECS).join(', ')})`);
    this.spec = spec;
    this.name = opts.venue;
    this.environment = opts.testnet ? 'testnet' : 'live';
    this.marketType = opts.marketType;
    this.clock = opts.clock;
    this.log = opts.log;
    this.sleepFn = opts.sleep ?? realSleep;
    this.upSince = opts.clock.now();
    setMaxListeners(0, this.abort.signal); // every concurrent wait (polls, streams, lookups, reads) listens for close()
    registerSecret(opts.credentials.apiKey);
    registerSecret(opts.credentials.secret);
    registerSecret(opts.credentials.password);
  }

  setListener(listener: ExchangeListener): void {
    this.listener = listener;
  }

  protected get envLabel(): string {
    const what = this.marketType === 'spot' ? 'spot' : this.spec.perpLabel;
    return `${this.spec.label} ${what} ${this.o.testnet ? this.spec.testLabel(this.marketType) : 'LIVE'}`;
  }

  status(): VenueStatus {
    const now = this.clock.now();
    let detail = this.detail;
    const until = this.backoffState.until;
    if (now < until) detail = `${detail}; rate-limited by ${this.spec.label} until ${hhmmss(until)} UTC`;
    else if (now < this.slowUntil) detail = `${detail}; requests slowed down after a rate limit until ${hhmmss(this.slowUntil)} UTC`;
    if (this.streamDown && this.up) detail = `${detail}; order stream down (REST polling every ${Math.round(this.o.pollMs / 1000)} s)`;
    if (!this.up && this.lastError) detail = `${detail} (last error: ${this.lastError})`;
    return { up: this.up, detail, since: this.upSince };
  }

  protected setUp(up: boolean, detail: string): void {
    if (up !== this.up) this.upSince = this.clock.now();
    this.up = up;
    this.detail = detail;
  }

  /** Every request of this ccxt instance waits out rate-limit pauses; every answer is checked (request-gate.ts). */
  protected installGate(ex: Exchange, cx: CcxtModule): void {
    const mark = ex as unknown as { skipperGate?: object };
    if (mark.skipperGate !== undefined) return; // connect() again on the same instance
    mark.skipperGate = this;
    installRequestGate(ex, {
      wait: () => this.gate(),
      backoff: (a) => this.spec.backoff({ status: a.status, text: a.body, headers: a.headers }, this.clock.now()),
      onBackoff: (b) => this.onBackoff(b),
      check: (a) => replyProblem(this.spec.replies, a),
      malformed: (reason) => new cx.BadResponse(`${this.spec.label} ${reason}`),
    });
  }

  // ---- request plumbing ---------------------------------------------------------------------------

  /** A read for a caller outside: retried, and its error made safe to show. */
  protected readPublic<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return this.wrap(what, () => this.read(what, fn));
  }

  protected async wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new Error(`${this.spec.label} ${what}: ${venueWords(e)}`);
    }
  }

  /** Retry network-type failures with exponential backoff (bounded); never an ExchangeError. */
  protected read<T>(what: string, fn: () => Promise<T>, attempts = READ_ATTEMPTS): Promise<T> {
    return this.withRetries(what, fn, attempts);
  }

  protected async withRetries<T>(what: string, fn: () => Promise<T>, attempts = READ_ATTEMPTS): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.gate();
      try {
        const r = await fn();
        return r;
      } catch (e) {
        const kind = this.failure(e);
        if (kind === 'rate') this.rateLimited(e);
        else if (kind === 'clock') await this.ex?.loadTimeDifference().catch(() => undefined);
        const retryable = kind === 'network' || kind === 'rate' || kind === 'clock';
        if (!retryable || attempt >= attempts || this.closed) throw e;
        this.lastError = venueWords(e);
        const ms = Math.min(READ_MAX_MS, READ_BASE_MS * 2 ** (attempt - 1));
        this.waiting(`${this.spec.label} ${what}: ${this.lastError}; retry ${attempt + 1} of ${attempts} in ${fmtSec(ms)}`);
        await this.pause(ms);
      }
    }
  }

  /** What a failure means for us. */
  protected failure(e: unknown): Failure {
    return classifyFailure(e, this.spec, this.cx);
  }

  /**
   * Every answer passes here (request-gate.ts): a rate-limit answer closes the gate for what it asked,
   * slows every request down for a while, and says so once.
   */
  protected onBackoff(b: Backoff): void {
    const ex = this.ex;
    const now = this.clock.now();
    const ms = this.backoffState.close(b, now);
    const until = this.backoffState.until;
    this.slowUntil = until + SLOWDOWN_MS;
    if (ex !== null && this.baseRateLimit > 0) setRateLimit(ex, this.baseRateLimit * SLOWDOWN_FACTOR);
    this.lastError = `rate-limited (${b.label}), retry after ${Math.ceil(ms / 1000)} s`;
    this.log.warn({ venue: this.name, code: b.code, retryAfterMs: ms }, 'rate-limited by the venue');
    this.alert({
      type: 'exchange_down',
      severity: b.critical ? 'critical' : 'warning',
      title: `${this.spec.label} rate limit (${b.code})`,
      message: `${this.spec.label} asked the bot to wait ${Math.ceil(ms / 1000)} s (${b.label}). No request goes out until ${hhmmss(until)} UTC; they run slower for a minute after.`,
      key: `${this.name}:rate`,
    });
  }

  /** A request failed with a rate limit: the wait its answer asked for (recorded by the gate as it arrived). */
  protected rateLimited(e: unknown): { ms: number; label: string } {
    const now = this.clock.now();
    let last = this.backoffState.last;
    if (last === undefined || now - last.at > last.ms) {
      // Not seen by the gate (an answer without the usual status): read what the error says.
      const b = this.spec.backoff({ text: errorMessage(e), headers: {} }, now) ?? {
        code: 'rate',
        label: 'rate limit',
        critical: false,
        defaultMs: 10_000,
      };
      this.onBackoff(b);
      last = this.backoffState.last!;
    }
    return { ms: Math.max(last.ms, this.backoffState.until - now), label: last.label };
  }

  /** Wait out a rate-limit pause; restore the normal request rate once the slow period is over. */
  protected async gate(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      const until = this.backoffState.until;
      if (now >= until || this.closed) break;
      if (until > this.announcedUntil) {
        this.announcedUntil = until;
        this.waiting(
          `${this.spec.label} asked for a pause (${this.backoffState.last?.label ?? 'rate limit'}): no request until ${hhmmss(until)} UTC`,
        );
      }
      await this.pause(until - now);
    }
    if (this.slowUntil > 0 && this.clock.now() >= this.slowUntil && this.ex !== null) {
      this.slowUntil = 0;
      setRateLimit(this.ex, this.baseRateLimit);
    }
  }

  /** The adapter is waiting for the venue: the log, and whoever asked to hear it (start-up). */
  protected waiting(message: string): void {
    this.log.warn({ venue: this.name }, message);
    try {
      this.o.onWait?.(message);
    } catch (e) {
      this.log.error({ venue: this.name, err: errorMessage(e) }, 'onWait failed');
    }
  }

  protected noteSuccess(): void {
    if (!this.up && this.connected) {
      this.setUp(true, `connected to ${this.envLabel}`);
      this.log.info({ venue: this.name }, 'venue reachable again');
      this.alert({
        type: 'exchange_up',
        severity: 'info',
        title: `${this.spec.label} back`,
        message: `${this.envLabel} answers again.`,
        key: `${this.name}:up`,
      });
      this.listener?.onConnection?.(true, `${this.spec.label} reachable again`);
    }
  }

  protected noteFailure(e: unknown): void {
    const err = clean(e);
    this.lastError = venueWords(e);
    this.log.warn({ venue: this.name, err }, 'venue poll failed');
    if (this.failure(e) === 'rate') this.rateLimited(e);
    if (this.up) {
      this.setUp(false, `${this.spec.label} unreachable`);
      this.alert({
        type: 'exchange_down',
        severity: 'warning',
        title: `${this.spec.label} unreachable`,
        message: `Order updates from ${this.envLabel} failed: ${this.lastError}. The bot keeps polling every ${Math.round(this.o.pollMs / 1000)} s.`,
        key: `${this.name}:down`,
      });
      this.listener?.onConnection?.(false, `${this.spec.label} unreachable: ${this.lastError}`);
    }
  }

  protected alert(a: AlertInput): void {
    if (this.closed) return;
    try {
      this.listener?.onAlert?.(a);
    } catch (e) {
      this.log.error({ venue: this.name, err: errorMessage(e) }, 'listener failed on an alert');
    }
  }

  /** Sleep that close() interrupts. */
  protected pause(ms: number): Promise<void> {
    if (this.closed || ms <= 0) return Promise.resolve();
    const signal = this.abort.signal;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done);
      this.sleepFn(ms, signal).then(done, done);
    });
  }
}

/** ccxt's throttler copies the refill rate at start: change both. */
function setRateLimit(ex: Exchange, ms: number): void {
  ex.rateLimit = ms;
  const th = (ex as unknown as { throttler?: { config?: { refillRate?: number } } }).throttler;
  if (th?.config && ms > 0) th.config.refillRate = 1 / ms;
}
