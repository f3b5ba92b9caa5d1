// Live closed candles from an exchange's public market data through ccxt (no API keys).
//
// Polling: after each candle closes (plus `closeDelayMs`), fetchOHLCV since the last emitted candle,
// paging when behind, and emit only candles that are closed by the clock (now ≥ ts + timeframe).
// Websocket (optional): ccxt.pro watchOHLCV; a candle counts as closed once the stream shows a later
// candle. Any websocket error switches to polling for the rest of the session.
//
// Outages never throw out of batches(): network-type errors (NetworkError: RequestTimeout,
// DDoSProtection/RateLimitExceeded, ExchangeNotAvailable, and malformed responses) set status 'down',
// raise one 'feed_down' warning per outage, and retry with exponential backoff (1 s doubling to
// 60 s, Retry-After obeyed). ExchangeError (bad symbol, rejected request) is not a blip: one critical
// alert, and we keep retrying only at the maximum backoff, so a fixed config or a relisted market
// recovers without a restart and the process stays up for chat commands. Recovery raises 'feed_up'.

import ccxt, { type Exchange } from 'ccxt';
import type { AlertSink } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import { duration as fmtDuration } from '../core/format.ts';
import type { Logger } from '../core/logger.ts';
import { TIMEFRAME_MS, type Candle, type MarketType, type Timeframe } from '../core/types.ts';
import type { LiveVenueId } from '../exchange/venues.ts';
import { abortableSleep, realSleep, type CandleFeed, type FeedState, type FeedStatus, type SleepFn } from './feed.ts';
import { isoUtc } from './validator.ts';
import { connectingState, liveFeedName } from './lazy-live-feed.ts';

export type LiveExchangeId = LiveVenueId;

export interface BackoffOptions {
  /** First retry delay (default 1000 ms). */
  initialMs?: number;
  /** Cap (default 60_000 ms); also the retry interval after an ExchangeError. */
  maxMs?: number;
  /** Random spread as a fraction of the delay, e.g. 0.2 = ±20% (default 0). */
  jitter?: number;
}

export interface LiveFeedOptions {
  exchangeId: LiveExchangeId;
  marketType: MarketType;
  /** Engine symbol, e.g. 'BTC/USDT'. For perps ':QUOTE' is appended for ccxt when missing. */
  symbol: string;
  timeframe: Timeframe;
  clock: Clock;
  alerts: AlertSink;
  logger: Logger;
  /** Fixed poll interval. Default: wake `closeDelayMs` after each expected candle close. */
  pollMs?: number;
  /** Delay after a candle's close before fetching it (default 1500 ms; absorbs clock skew). */
  closeDelayMs?: number;
  /** Closed candles of history fetched at start and yielded as the first batch (default 0). */
  warmup?: number;
  /** A pre-configured ccxt instance (tests point its urls at a local fake). */
  exchange?: Exchange;
  useWebsocket?: boolean;
  sleep?: SleepFn;
  backoff?: BackoffOptions;
  /** For jitter (default Math.random). */
  random?: () => number;
}

/** Candles per fetchOHLCV request (Binance's max is 1000, Bybit's 1000). */
const PAGE = 1000;
/** Retry interval when a closed candle is expected but the exchange has not published it yet. */
const LAGGING_RETRY_MS = 5_000;

type Failure = 'transient' | 'fatal';

function classify(e: unknown): Failure {
  if (e instanceof ccxt.NetworkError) return 'transient';
  if (e instanceof ccxt.ExchangeError) return 'fatal';
  // BadResponse/NullResponse (garbage from a proxy or a half-up server) and non-ccxt errors
  // (fetch failures) are treated as outages too.
  return 'transient';
}

/** Plain-words cause of a failure. */
function describeFailure(e: unknown): string {
  const msg = errorMessage(e).replace(/\s+/g, ' ');
  const http = / (\d{3}) [A-Za-z]/.exec(msg)?.[1];
  if (e instanceof ccxt.RequestTimeout) return 'request timed out';
  if (e instanceof ccxt.DDoSProtection || e instanceof ccxt.RateLimitExceeded) return `rate-limited${http ? ` (HTTP ${http})` : ''}`;
  if (e instanceof ccxt.OnMaintenance) return 'exchange under maintenance';
  if (e instanceof ccxt.ExchangeNotAvailable) return `exchange not available${http ? ` (HTTP ${http})` : ''}`;
  if (/ECONNREFUSED|connection refused/i.test(msg)) return 'connection refused';
  if (/ENOTFOUND|EAI_AGAIN/i.test(msg)) return 'DNS lookup failed (no internet?)';
  if (/ECONNRESET|other side closed|socket hang up/i.test(msg)) return 'connection dropped';
  // ccxt messages start with "<id> GET <url>"; the URL is noise in an alert.
  const plain = msg.replace(/^\S+ (GET|POST|PUT|DELETE) \S+ /, '');
  if (e instanceof ccxt.BadSymbol) return `bad symbol (${plain.slice(0, 120)})`;
  return plain.slice(0, 160);
}

export class LiveFeed implements CandleFeed {
  readonly name: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  /** The symbol as ccxt knows it (perps: 'BTC/USDT:USDT'). */
  readonly ccxtSymbol: string;
  /** ts of the last warmup candle once warmup is done (candles up to it are history). */
  warmupUntilTs: number | undefined;
  readonly exchange: Exchange;
  /** We created the ccxt instance (so stop() may close its websockets). */
  private readonly ownsExchange: boolean;

  private readonly o: LiveFeedOptions;
  private readonly tfMs: number;
  private readonly sleep: SleepFn;
  private readonly abort = new AbortController();
  private st: FeedState;
  /** Cursor: nothing at or before it is emitted (again). Starts before the warmup window. */
  private lastTs: number | undefined;
  private emittedTs: number | undefined;
  private marketsOk = false;
  private marketsFailed = false;
  private wsActive: boolean;
  // Outage bookkeeping: one alert per outage and per severity.
  private downSince: number | undefined;
  private alerted: Failure | undefined;
  private failures = 0;

  constructor(opts: LiveFeedOptions) {
    this.o = opts;
    this.symbol = opts.symbol;
    this.timeframe = opts.timeframe;
    this.tfMs = TIMEFRAME_MS[opts.timeframe];
    this.sleep = opts.sleep ?? realSleep;
    this.ccxtSymbol =
      opts.marketType === 'perp' && !opts.symbol.includes(':') ? `${opts.symbol}:${opts.symbol.split('/')[1] ?? 'USDT'}` : opts.symbol;
    this.name = liveFeedName(opts);
    this.ownsExchange = opts.exchange === undefined;
    this.exchange = opts.exchange ?? LiveFeed.createExchange(opts.exchangeId, opts.marketType, opts.useWebsocket ?? false);
    LiveFeed.limitMarketTypes(this.exchange, opts.marketType);
    this.wsActive = (opts.useWebsocket ?? false) && this.exchange.has['watchOHLCV'] === true;
    this.st = connectingState(opts, opts.clock.now());
  }

  /** A public-data ccxt instance (pro when websockets are wanted), limited to the needed market type. */
  static createExchange(id: LiveExchangeId, marketType: MarketType, websocket: boolean): Exchange {
    const config = { enableRateLimit: true, options: { fetchMarkets: { types: [marketType === 'spot' ? 'spot' : 'linear'] } } };
    return websocket ? new ccxt.pro[id](config) : new ccxt[id](config);
  }

  /**
   * loadMarkets would fetch every market type (binance: spot + USDⓈ-M + COIN-M exchangeInfo; bybit
   * adds options). Both read `options.fetchMarkets.types` (checked in ccxt 4.5 binance.js/bybit.js),
   * so a spot bot only calls the spot endpoint.
   */
  static limitMarketTypes(ex: Exchange, marketType: MarketType): void {
    const types = [marketType === 'spot' ? 'spot' : 'linear'];
    const cur: unknown = ex.options['fetchMarkets'];
    ex.options['fetchMarkets'] = cur && typeof cur === 'object' && !Array.isArray(cur) ? { ...cur, types } : { types };
  }

  state(): FeedState {
    return { ...this.st };
  }

  /** How candles currently arrive. */
  get transport(): 'websocket' | 'polling' {
    return this.wsActive ? 'websocket' : 'polling';
  }

  stop(): void {
    this.set('stopped', 'stopped');
    this.abort.abort();
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private now(): number {
    return this.o.clock.now();
  }

  private set(status: FeedStatus, detail: string): void {
    if (this.st.status === 'stopped') return;
    const since = status === this.st.status ? this.st.since : this.now();
    this.st = { status, detail, since, ...(this.emittedTs !== undefined ? { lastCandleTs: this.emittedTs } : {}) };
  }

  /** ts of the newest candle that is closed at `now`. */
  private lastClosedAt(now: number): number {
    return Math.floor(now / this.tfMs) * this.tfMs - this.tfMs;
  }

  async *batches(): AsyncGenerator<Candle[]> {
    const warmup = Math.max(0, Math.floor(this.o.warmup ?? 0));
    // Start the cursor `warmup` candles back; with no warmup the first candle emitted is the next to close.
    if (this.lastTs === undefined) this.lastTs = this.lastClosedAt(this.now()) - warmup * this.tfMs;
    let warmupPending = warmup > 0;
    try {
      while (!this.stopped) {
        let wait: number;
        try {
          await this.ensureMarkets();
          if (this.wsActive && !warmupPending) {
            const got = await this.watchOnce();
            if (got === null) continue; // websocket failed: polling from now on
            this.recovered();
            if (got.length) yield this.emit(got);
            continue;
          }
          const got = await this.fetchClosed();
          this.recovered();
          if (warmupPending) {
            warmupPending = false;
            this.warmupUntilTs = got.length ? got[got.length - 1]!.ts : this.emittedTs;
          }
          if (got.length) yield this.emit(got);
          if (this.wsActive) continue; // the websocket takes over right after the warmup fetch
          wait = this.nextPollDelay();
        } catch (e) {
          if (this.stopped) break;
          wait = this.failed(e);
        }
        await abortableSleep(this.sleep, wait, this.abort.signal);
      }
    } finally {
      if (this.o.useWebsocket) await this.closeWs();
    }
  }

  private emit(candles: Candle[]): Candle[] {
    this.lastTs = this.emittedTs = candles[candles.length - 1]!.ts;
    this.set('up', `receiving ${this.name} candles (last ${isoUtc(this.lastTs)})`);
    return candles;
  }

  private async ensureMarkets(): Promise<void> {
    if (this.marketsOk) return;
    // ccxt caches a failed loadMarkets promise; reload after a failure.
    await this.race(this.exchange.loadMarkets(this.marketsFailed));
    this.exchange.market(this.ccxtSymbol); // throws BadSymbol if the exchange does not list it
    this.marketsOk = true;
    this.marketsFailed = false;
  }

  /** Closed candles after lastTs, paging through fetchOHLCV when behind (warmup, outage backfill). */
  private async fetchClosed(): Promise<Candle[]> {
    const out: Candle[] = [];
    let last = this.lastTs!;
    for (let page = 0; page < 10_000 && !this.stopped; page++) {
      const now = this.now();
      const newest = this.lastClosedAt(now);
      if (last >= newest) break;
      const since = last + this.tfMs;
      const want = Math.min(PAGE, (newest - last) / this.tfMs + 1);
      const rows = await this.race(this.exchange.fetchOHLCV(this.ccxtSymbol, this.timeframe, since, want));
      let progressed = false;
      for (const r of rows) {
        const ts = Number(r[0]);
        // Closed only, and strictly after what we have (never re-emit).
        if (!(ts > last) || this.now() < ts + this.tfMs) continue;
        out.push({ ts, open: Number(r[1]), high: Number(r[2]), low: Number(r[3]), close: Number(r[4]), volume: Number(r[5]) });
        last = ts;
        progressed = true;
      }
      // Short page, or the exchange has nothing more yet.
      if (!progressed || rows.length < want) break;
    }
    return out;
  }

  private nextPollDelay(): number {
    if (this.o.pollMs !== undefined) return this.o.pollMs;
    const now = this.now();
    const newest = this.lastClosedAt(now);
    // A closed candle is missing (exchange lagging, or a halt with no candles): look again soon.
    if (this.lastTs! < newest) return LAGGING_RETRY_MS;
    const nextClose = newest + 2 * this.tfMs;
    return Math.max(250, nextClose + (this.o.closeDelayMs ?? 1500) - now);
  }

  // --- websocket ----------------------------------------------------------------------------------

  private pending: Candle | null = null;

  /** One watchOHLCV update → the candles it closed. null when the websocket failed (now polling). */
  private async watchOnce(): Promise<Candle[] | null> {
    let rows: number[][];
    try {
      rows = (await this.race(this.exchange.watchOHLCV(this.ccxtSymbol, this.timeframe))) as number[][];
    } catch (e) {
      if (this.stopped) return [];
      this.o.logger.warn({ feed: this.name, err: errorMessage(e) }, 'websocket candles failed; falling back to polling');
      // ccxt drops a client that failed; nothing to close here.
      this.wsActive = false;
      this.pending = null;
      return null;
    }
    const closed: Candle[] = [];
    for (const r of [...rows].sort((a, b) => Number(a[0]) - Number(b[0]))) {
      const c: Candle = {
        ts: Number(r[0]),
        open: Number(r[1]),
        high: Number(r[2]),
        low: Number(r[3]),
        close: Number(r[4]),
        volume: Number(r[5]),
      };
      const p = this.pending;
      if (p === null || c.ts === p.ts) this.pending = c;
      else if (c.ts > p.ts) {
        // A later candle exists, so p is final.
        closed.push(p);
        this.pending = c;
      }
    }
    const fresh = closed.filter((c) => c.ts > this.lastTs!);
    // Contiguous from lastTs? Otherwise the stream skipped candles somewhere (e.g. a reconnect).
    if (fresh.length && fresh[fresh.length - 1]!.ts - this.lastTs! !== fresh.length * this.tfMs) {
      // The stream skipped candles (reconnect): backfill over REST, then keep what is still new.
      const filled = await this.fetchClosed();
      const lastFilled = filled.length ? filled[filled.length - 1]!.ts : this.lastTs!;
      return [...filled, ...fresh.filter((c) => c.ts > lastFilled)];
    }
    return fresh;
  }

  /** On stop: unsubscribe our stream; close the websockets only if the ccxt instance is ours. */
  private async closeWs(): Promise<void> {
    const ex = this.exchange;
    const release = async (): Promise<void> => {
      if (this.ownsExchange) await ex.close();
      else if (this.wsActive && ex.has['unWatchOHLCV']) await ex.unWatchOHLCV(this.ccxtSymbol, this.timeframe);
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      // Bounded: an unanswered unsubscribe must not keep stop() from finishing.
      await Promise.race([release(), new Promise<void>((r) => (timer = setTimeout(r, 2000).unref()))]);
    } catch {
      // already closed, or the exchange is unreachable: nothing left to release
    } finally {
      clearTimeout(timer);
    }
  }

  // --- outages -------------------------------------------------------------------------------------

  /** Settle like `p`, or reject once stop() is called (the caller then sees `stopped` and ends). */
  private race<T>(p: Promise<T>): Promise<T> {
    const sig = this.abort.signal;
    p.catch(() => undefined); // a late rejection after stop() must not become unhandled
    if (sig.aborted) return Promise.reject(new Error('feed stopped'));
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(new Error('feed stopped'));
      sig.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => sig.removeEventListener('abort', onAbort));
    });
  }

  /** Record a failure; returns how long to wait before retrying. */
  private failed(e: unknown): number {
    const kind = classify(e);
    if (!this.marketsOk) this.marketsFailed = true;
    this.failures++;
    const now = this.now();
    this.downSince ??= now;
    const b = this.o.backoff ?? {};
    const initial = b.initialMs ?? 1000;
    const max = b.maxMs ?? 60_000;
    let wait = kind === 'fatal' ? max : Math.min(max, initial * 2 ** Math.min(this.failures - 1, 30));
    if (b.jitter) wait = Math.max(0, wait * (1 + b.jitter * (2 * (this.o.random ?? Math.random)() - 1)));
    if (e instanceof ccxt.DDoSProtection || e instanceof ccxt.RateLimitExceeded) {
      // The exchange says how long to back off; a 418 means an IP ban, so obey it even past the cap.
      const ra = Number(this.exchange.last_response_headers?.['Retry-After']);
      if (Number.isFinite(ra) && ra > 0) wait = Math.max(wait, ra * 1000);
    }
    const ex = this.o.exchangeId;
    const cause = describeFailure(e);
    const detail =
      kind === 'fatal'
        ? `${ex} refused the request for ${this.ccxtSymbol} ${this.timeframe}: ${cause}; retrying every ${fmtDuration(max)}`
        : `${ex} unreachable: ${cause}; retry ${this.failures} in ${fmtDuration(wait)}`;
    this.set('down', detail);
    this.o.logger.warn({ feed: this.name, err: errorMessage(e), kind, waitMs: wait }, 'candle feed down');
    if (this.alerted === undefined || (kind === 'fatal' && this.alerted !== 'fatal')) {
      this.alerted = kind;
      this.o.alerts.raise({
        type: 'feed_down',
        severity: kind === 'fatal' ? 'critical' : 'warning',
        title: `${this.name} market data down`,
        message:
          kind === 'fatal'
            ? `${ex} rejected the market-data request (${cause}). Check the symbol and market type in the config. ` +
              `The feed retries every ${fmtDuration(max)}; no new trades until data flows. ` +
              `To run offline meanwhile: npm start -- --replay FILE`
            : `Can't get candles from ${ex} (${cause}). The feed keeps retrying with backoff (1 s doubling up to ${fmtDuration(max)}); ` +
              `no new trades until data is back. The bot can run offline meanwhile: npm start -- --replay FILE`,
        key: `feed_down:${this.name}`,
        data: { feed: this.name, cause, kind },
      });
    }
    return wait;
  }

  /** A successful request: close the outage if there was one. */
  private recovered(): void {
    if (this.st.status === 'connecting') this.set('up', `connected to ${this.o.exchangeId} for ${this.name}`);
    if (this.downSince === undefined) return;
    const took = this.now() - this.downSince;
    const wasAlerted = this.alerted !== undefined;
    this.downSince = undefined;
    this.alerted = undefined;
    this.failures = 0;
    this.set('up', `${this.name} back after ${fmtDuration(took)}`);
    this.o.logger.info({ feed: this.name, downMs: took }, 'candle feed up');
    if (wasAlerted) {
      this.o.alerts.raise({
        type: 'feed_up',
        severity: 'info',
        title: `${this.name} market data back`,
        message: `Candles from ${this.o.exchangeId} are flowing again after ${fmtDuration(took)}; missed candles are fetched before new ones.`,
        key: `feed_up:${this.name}`,
        data: { feed: this.name, downMs: took },
      });
    }
  }
}
