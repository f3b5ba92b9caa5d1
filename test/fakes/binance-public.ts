// A local fake of Binance's public spot REST API (exchangeInfo, klines, ping, time) on 127.0.0.1, so
// the real ccxt binance class can be tested without the network. Point ccxt at it with
// `pointAtFake(exchange, fake.url)`.
//
// Candles come from a function of their open time, and the fake only serves candles that have opened
// by `clock.now()`; the last one is in progress (partial volume, different close), like the real API.
// Failure modes: `fake.fail = { status, body?, headers? }` answers every request with that status;
// `fake.down()` closes the port (connection refused) and `fake.up()` reopens it on the same port.
//
// Websocket: with `fake.ws = true` the same port accepts Binance stream connections (point ccxt.pro
// at `fake.wsUrl`): SUBSCRIBE is acknowledged and `pushKline` sends kline events. Uses the `ws`
// package, which ccxt itself depends on (and @types/ws comes with discord.js).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../../src/core/clock.ts';
import { TIMEFRAME_MS, type Candle, type Timeframe } from '../../src/core/types.ts';

export interface FakeSymbol {
  symbol: string; // 'BTCUSDT'
  base: string; // 'BTC'
  quote: string; // 'USDT'
}

export interface FakeBinanceOptions {
  clock: Clock;
  symbols?: FakeSymbol[];
  /** The closed candle opening at ts for a timeframe; default: a deterministic wave around 30000. */
  candleAt?: (ts: number, tf: Timeframe) => Candle | null;
}

export interface FakeFailure {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

const INTERVALS = new Map<string, Timeframe>(Object.keys(TIMEFRAME_MS).map((k) => [k, k as Timeframe]));

export function defaultCandleAt(ts: number, tf: Timeframe): Candle {
  const i = ts / TIMEFRAME_MS[tf];
  const open = 30_000 + Math.round(500 * Math.sin(i / 7));
  const close = 30_000 + Math.round(500 * Math.sin((i + 1) / 7));
  return { ts, open, high: Math.max(open, close) + 5, low: Math.min(open, close) - 5, close, volume: 10 + (i % 5) };
}

export class FakeBinancePublic {
  url = '';
  port = 0;
  readonly requests: FakeRequest[] = [];
  /** When set, every request gets this response. */
  fail: FakeFailure | null = null;
  /** Extra latency per request (ms of real time). */
  delayMs = 0;
  /** Serve the latest 10 candles whatever startTime/limit say (tests client-side de-duplication). */
  ignoreStartTime = false;
  symbols: FakeSymbol[];
  candleAt: (ts: number, tf: Timeframe) => Candle | null;

  /** Accept websocket connections (Binance kline streams). */
  ws = false;
  /** Stream names subscribed so far, e.g. 'btcusdt@kline_1m'. */
  readonly subscriptions: string[] = [];
  readonly unsubscriptions: string[] = [];

  private server: Server | null = null;
  private readonly clock: Clock;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  private subWaiters: Array<() => void> = [];

  constructor(opts: FakeBinanceOptions) {
    this.clock = opts.clock;
    this.symbols = opts.symbols ?? [{ symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT' }];
    this.candleAt = opts.candleAt ?? defaultCandleAt;
  }

  async start(): Promise<this> {
    await this.listen(0);
    return this;
  }

  /** Close the port: clients get connection refused until up(). */
  async down(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const w of this.sockets) w.terminate();
    this.sockets.clear();
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  async up(): Promise<void> {
    if (!this.server) await this.listen(this.port);
  }

  async close(): Promise<void> {
    await this.down();
  }

  /** ccxt.pro binance picks spot handling when the URL contains '/stream'. */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/stream`;
  }

  /** Resolves once a client has subscribed to a stream (immediately if one already has). */
  subscribed(): Promise<void> {
    if (this.subscriptions.length) return Promise.resolve();
    return new Promise((r) => this.subWaiters.push(r));
  }

  /** Send a kline event for `c` to every websocket client; `closed` is Binance's `x` flag. */
  pushKline(symbol: string, tf: Timeframe, c: Candle, closed: boolean): void {
    const k = {
      t: c.ts,
      T: c.ts + TIMEFRAME_MS[tf] - 1,
      s: symbol,
      i: tf,
      f: 1,
      L: 2,
      o: String(c.open),
      c: String(c.close),
      h: String(c.high),
      l: String(c.low),
      v: String(c.volume),
      n: 1,
      x: closed,
      q: '0',
      V: '0',
      Q: '0',
      B: '0',
    };
    const msg = JSON.stringify({ e: 'kline', E: this.clock.now(), s: symbol, k });
    for (const w of this.sockets) w.send(msg);
  }

  /** Requests whose path starts with prefix (e.g. '/api/v3/klines'). */
  count(prefix: string): number {
    return this.requests.filter((r) => r.path.startsWith(prefix)).length;
  }

  private listen(port: number): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('upgrade', (req, socket, head) => {
      this.requests.push({ method: 'WS', path: new URL(req.url ?? '/', 'http://x').pathname, query: {} });
      if (!this.ws) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (w) => this.onSocket(w));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        this.url = `http://127.0.0.1:${this.port}`;
        resolve();
      });
    });
  }

  private onSocket(w: WebSocket): void {
    this.sockets.add(w);
    w.on('close', () => this.sockets.delete(w));
    w.on('message', (data) => {
      const m = JSON.parse(String(data)) as { method?: string; params?: string[]; id?: number };
      if (m.method === 'SUBSCRIBE') {
        this.subscriptions.push(...(m.params ?? []));
        w.send(JSON.stringify({ result: null, id: m.id }));
        for (const r of this.subWaiters.splice(0)) r();
      } else if (m.method === 'UNSUBSCRIBE') {
        this.unsubscriptions.push(...(m.params ?? []));
        w.send(JSON.stringify({ result: null, id: m.id }));
      }
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(u.searchParams);
    this.requests.push({ method: req.method ?? 'GET', path: u.pathname, query });
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.fail) {
      res.writeHead(this.fail.status, { 'Content-Type': 'application/json', ...this.fail.headers });
      res.end(this.fail.body ?? JSON.stringify({ code: -1, msg: 'fake failure' }));
      return;
    }
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    switch (u.pathname) {
      case '/api/v3/ping':
        return send(200, {});
      case '/api/v3/time':
        return send(200, { serverTime: this.clock.now() });
      case '/api/v3/exchangeInfo':
        return send(200, this.exchangeInfo());
      case '/api/v3/klines':
        return this.klines(query, send);
      default:
        return send(404, { code: -1, msg: `fake binance: no route ${u.pathname}` });
    }
  }

  private exchangeInfo(): unknown {
    return {
      timezone: 'UTC',
      serverTime: this.clock.now(),
      rateLimits: [],
      exchangeFilters: [],
      symbols: this.symbols.map((s) => ({
        symbol: s.symbol,
        status: 'TRADING',
        baseAsset: s.base,
        baseAssetPrecision: 8,
        quoteAsset: s.quote,
        quotePrecision: 8,
        quoteAssetPrecision: 8,
        baseCommissionPrecision: 8,
        quoteCommissionPrecision: 8,
        orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
        icebergAllowed: true,
        ocoAllowed: true,
        quoteOrderQtyMarketAllowed: true,
        allowTrailingStop: true,
        cancelReplaceAllowed: true,
        isSpotTradingAllowed: true,
        isMarginTradingAllowed: false,
        filters: [
          { filterType: 'PRICE_FILTER', minPrice: '0.01000000', maxPrice: '1000000.00000000', tickSize: '0.01000000' },
          { filterType: 'LOT_SIZE', minQty: '0.00001000', maxQty: '9000.00000000', stepSize: '0.00001000' },
          {
            filterType: 'NOTIONAL',
            minNotional: '5.00000000',
            applyMinToMarket: true,
            maxNotional: '9000000.00000000',
            applyMaxToMarket: false,
            avgPriceMins: 5,
          },
          { filterType: 'MARKET_LOT_SIZE', minQty: '0.00000000', maxQty: '100.00000000', stepSize: '0.00000000' },
        ],
        permissions: [],
        permissionSets: [['SPOT']],
        defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
        allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
      })),
    };
  }

  private klines(q: Record<string, string>, send: (status: number, body: unknown) => void): void {
    const tf = INTERVALS.get(q['interval'] ?? '');
    if (!this.symbols.some((s) => s.symbol === q['symbol'])) return send(400, { code: -1121, msg: 'Invalid symbol.' });
    if (!tf) return send(400, { code: -1120, msg: 'Invalid interval.' });
    const ms = TIMEFRAME_MS[tf];
    const now = this.clock.now();
    const limit = this.ignoreStartTime ? 10 : Math.min(1000, Number(q['limit'] ?? 500));
    const current = Math.floor(now / ms) * ms; // in progress
    const end = Math.min(current, q['endTime'] !== undefined ? Number(q['endTime']) : Infinity);
    const startTime = this.ignoreStartTime ? undefined : q['startTime'];
    let start = startTime !== undefined ? Math.ceil(Number(startTime) / ms) * ms : current - (limit - 1) * ms;
    if (startTime === undefined && q['endTime'] !== undefined) start = Math.floor(end / ms) * ms - (limit - 1) * ms;
    const rows: unknown[] = [];
    for (let ts = start; ts <= end && rows.length < limit; ts += ms) {
      const c = this.candleAt(ts, tf);
      if (!c) continue;
      const partial = ts === current;
      // The in-progress candle: a different close and less volume than the final one.
      const close = partial ? c.open : c.close;
      const vol = partial ? c.volume / 3 : c.volume;
      rows.push([
        ts,
        String(c.open),
        String(Math.max(c.high, close)),
        String(Math.min(c.low, close)),
        String(close),
        String(vol),
        ts + ms - 1,
        '0',
        1,
        '0',
        '0',
        '0',
      ]);
    }
    send(200, rows);
  }
}

/**
 * Point every REST URL of a ccxt exchange at the fake: each string entry of `urls.api` keeps its path
 * (e.g. '/api/v3') on the fake's origin. Websocket URLs (nested under urls.api.ws) are left alone
 * unless `ws` is given.
 */
export function pointAtFake(exchange: { urls: Record<string, unknown> }, baseUrl: string, ws?: string): void {
  const api = exchange.urls['api'] as Record<string, unknown>;
  for (const [k, v] of Object.entries(api)) {
    if (typeof v === 'string' && /^https?:\/\//.test(v)) api[k] = baseUrl + new URL(v).pathname;
    else if (k === 'ws' && ws && v && typeof v === 'object') {
      for (const [wk, wv] of Object.entries(v as Record<string, unknown>))
        if (typeof wv === 'string') (v as Record<string, unknown>)[wk] = ws;
    }
  }
}
