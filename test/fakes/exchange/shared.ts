// Venue-agnostic pieces of the fake exchanges: an HTTP server on 127.0.0.1 with scriptable faults
// and a request log, and a small matching book (accounts, orders keyed by client order id, trades
// with ids) driven by a scripted price path. Each venue file (binance.ts, bybit.ts) maps its REST
// paths, JSON shapes and error codes onto these.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

// ---- HTTP server with faults --------------------------------------------------------------------

export interface FakeRequest {
  method: string;
  path: string;
  /** Query and form (or JSON object) body merged, values as strings; the signature is dropped. */
  params: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** The query string (without '?') and body as sent, for venues that sign them (Bybit). */
  raw?: { query: string; body: string };
  ts: number;
  /** What the fake did: 'ok', an HTTP status, or the fault kind. */
  outcome?: string;
}

export interface FakeResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: FakeRequest) => FakeResponse | Promise<FakeResponse>;

/**
 * - delay: answer normally after `ms` (real time).
 * - status: answer `status`/`body`/`headers` without processing (429, 418, 5xx, any reject).
 * - drop / hang: the request never reaches the venue; the connection is destroyed / held open.
 * - acceptThenDrop / acceptThenHang / acceptThenStatus: the request IS processed (an order is
 *   booked), then the connection is destroyed / held until the client gives up / answered with
 *   `status` (a 5xx after the fact).
 * - acceptThenDelay: processed at once, the (normal) answer sent `ms` later (a slow acknowledgement).
 */
export type FaultKind = 'delay' | 'status' | 'drop' | 'hang' | 'acceptThenDrop' | 'acceptThenHang' | 'acceptThenStatus' | 'acceptThenDelay';

export interface Fault {
  kind: FaultKind;
  method?: string;
  /** Exact path, or a prefix ending in '*'. */
  path: string;
  match?: (params: Record<string, string>) => boolean;
  /** How many requests it applies to (default 1; Infinity for all). */
  times?: number;
  ms?: number;
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** What a fault answers when it names no body: the venue's own shape for a failure. */
export interface FaultDefaults {
  /** `status` faults (default: a Binance-style JSON error). */
  statusBody?: unknown;
  /** `acceptThenStatus` faults (default: Binance's -1001 "unable to process"). */
  acceptedStatusBody?: unknown;
}

export class FakeHttpServer {
  url = '';
  port = 0;
  readonly requests: FakeRequest[] = [];
  private faults: Array<Fault & { left: number }> = [];
  private server: Server | null = null;
  private readonly held = new Set<Socket>();

  constructor(
    private readonly handler: Handler,
    private readonly now: () => number,
    private readonly onUpgrade?: UpgradeHandler,
    private readonly defaults: FaultDefaults = {},
  ) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    if (this.onUpgrade) server.on('upgrade', (req, socket, head) => this.onUpgrade!(req, socket, head));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        this.url = `http://127.0.0.1:${this.port}`;
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.held) sock.destroy();
    this.held.clear();
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  inject(f: Fault): void {
    this.faults.push({ ...f, left: f.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Requests to a path (prefix with '*'), optionally one method. */
  find(path: string, method?: string): FakeRequest[] {
    return this.requests.filter((r) => pathMatches(path, r.path) && (method === undefined || r.method === method));
  }

  private takeFault(req: FakeRequest): Fault | undefined {
    const i = this.faults.findIndex(
      (f) =>
        f.left > 0 &&
        pathMatches(f.path, req.path) &&
        (f.method === undefined || f.method === req.method) &&
        (f.match?.(req.params) ?? true),
    );
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.left--;
    if (f.left <= 0) this.faults.splice(i, 1);
    return f;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const body = await readBody(req);
    const params: Record<string, string> = Object.fromEntries(u.searchParams);
    if (body) for (const [k, v] of parseBody(body)) params[k] = v;
    delete params['signature'];
    const r: FakeRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      params,
      headers: req.headers,
      ts: this.now(),
      raw: { query: rawQuery(req.url), body },
    };
    this.requests.push(r);
    const fault = this.takeFault(r);
    const socket = req.socket;
    const send = (x: FakeResponse): void => {
      if (res.writableEnded || socket.destroyed) return;
      res.writeHead(x.status, { 'Content-Type': 'application/json', ...x.headers });
      res.end(typeof x.body === 'string' ? x.body : JSON.stringify(x.body));
    };
    const hold = (): void => {
      this.held.add(socket);
      socket.once('close', () => this.held.delete(socket));
    };
    if (fault) {
      r.outcome = fault.kind;
      switch (fault.kind) {
        case 'delay':
          await new Promise((resolve) => setTimeout(resolve, fault.ms ?? 100));
          break;
        case 'status':
          return send({
            status: fault.status ?? 500,
            body: fault.body ?? this.defaults.statusBody ?? { code: -1000, msg: 'fake failure' },
            ...(fault.headers ? { headers: fault.headers } : {}),
          });
        case 'drop':
          socket.destroy();
          return;
        case 'hang':
          hold();
          return;
        case 'acceptThenDelay': {
          const answer = await this.handler(r);
          await new Promise((resolve) => setTimeout(resolve, fault.ms ?? 100));
          return send(answer);
        }
        default: {
          await this.handler(r); // processed: the order is booked
          if (fault.kind === 'acceptThenDrop') socket.destroy();
          else if (fault.kind === 'acceptThenHang') hold();
          else
            send({
              status: fault.status ?? 503,
              body: fault.body ??
                this.defaults.acceptedStatusBody ?? {
                  code: -1001,
                  msg: 'Internal error; unable to process your request. Please try again.',
                },
              ...(fault.headers ? { headers: fault.headers } : {}),
            });
          return;
        }
      }
    }
    let out: FakeResponse;
    try {
      out = await this.handler(r);
    } catch (e) {
      out = { status: 500, body: { code: -1000, msg: `fake exchange bug: ${(e as Error).message}` } };
    }
    r.outcome ??= out.status === 200 ? 'ok' : String(out.status);
    send(out);
  }
}

function pathMatches(pattern: string, path: string): boolean {
  return pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : pattern === path;
}

/** The query string exactly as sent (URL parsing would re-encode it; signatures cover the raw one). */
function rawQuery(url: string | undefined): string {
  const i = (url ?? '').indexOf('?');
  return i < 0 ? '' : url!.slice(i + 1);
}

/** A form body (Binance) or a JSON object body (Bybit), as string pairs. */
function parseBody(body: string): Array<[string, string]> {
  if (body.trimStart().startsWith('{')) {
    try {
      const o = JSON.parse(body) as Record<string, unknown>;
      return Object.entries(o)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
    } catch {
      return [];
    }
  }
  return [...new URLSearchParams(body)];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (s += c));
    req.on('end', () => resolve(s));
    req.on('error', () => resolve(s));
  });
}

// ---- matching book ------------------------------------------------------------------------------

export interface FakeMarket {
  id: string; // 'BTCUSDT'
  base: string;
  quote: string;
  tick: number;
  step: number;
  minQty: number;
  minNotional: number;
  maxLeverage: number;
}

export type FakeKind = 'market' | 'limit' | 'stop_market' | 'stop_limit';
export type FakeStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED' | 'REJECTED';
export type ConditionalStatus = 'NEW' | 'TRIGGERED' | 'FINISHED' | 'CANCELED' | 'EXPIRED' | 'REJECTED';

export interface FakeOrder {
  id: number;
  coid: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  kind: FakeKind;
  /** The venue's type name as placed (STOP_LOSS, STOP_MARKET, LIMIT_MAKER…). */
  venueType: string;
  qty: number;
  quoteQty?: number;
  price?: number;
  stopPrice?: number;
  tif: string;
  postOnly: boolean;
  reduceOnly: boolean;
  status: FakeStatus;
  filled: number;
  cumQuote: number;
  time: number;
  updateTime: number;
  triggered: boolean;
  locked: number;
  lockedAsset?: string;
  /** A conditional kept apart (Binance USDⓈ-M algo order): its own id space and status. */
  conditional?: { status: ConditionalStatus; actualOrderId?: number; triggerTime: number };
  /** The conditional this order was created from when it triggered. */
  parentId?: number;
  /** A trailing stop: its stop follows the best price since placement at `rate` (a fraction). */
  trail?: { rate: number; best: number };
}

export interface FakeTrade {
  id: number;
  orderId: number;
  coid: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  price: number;
  qty: number;
  quoteQty: number;
  commission: number;
  commissionAsset: string;
  maker: boolean;
  time: number;
  realizedPnl: number;
}

export interface FakeIncome {
  tranId: number;
  symbol: string;
  type: 'FUNDING_FEE';
  amount: number;
  asset: string;
  time: number;
  rate: number;
}

/** Why the book refused an order; each venue maps it to its own code and words. */
export type RejectKind =
  | 'insufficient_balance'
  | 'insufficient_margin'
  | 'min_notional'
  | 'lot_size'
  | 'min_qty'
  | 'duplicate'
  | 'reduce_only'
  | 'would_take'
  | 'would_trigger'
  | 'bad_symbol'
  | 'bad_params';

export class BookReject extends Error {
  constructor(
    readonly kind: RejectKind,
    msg: string,
  ) {
    super(msg);
  }
}

/** Where a trailing stop stands: `rate` behind the best price (below it for a sell). */
const trailStop = (side: 'BUY' | 'SELL', best: number, rate: number): number => round(best * (side === 'SELL' ? 1 - rate : 1 + rate));

export interface PlaceRequest {
  symbol: string;
  side: 'BUY' | 'SELL';
  kind: FakeKind;
  venueType: string;
  coid: string;
  qty?: number;
  quoteQty?: number;
  price?: number;
  stopPrice?: number;
  tif: string;
  postOnly: boolean;
  reduceOnly: boolean;
  conditional: boolean;
  /** A trailing stop (kind stop_market): trails the best price by this fraction; stopPrice is derived. */
  trailRate?: number;
}

export type FeeAsset = 'quote' | 'base' | 'BNB' | 'received';

export interface FakeBookOptions {
  type: 'spot' | 'perp';
  markets: FakeMarket[];
  balances: Record<string, number>;
  now: () => number;
  makerFee?: number;
  takerFee?: number;
  /** Spot: the asset fees are charged in ('received': the coin the trade delivers, like Bybit). */
  feeAsset?: FeeAsset;
  /** Quote price of BNB when fees are charged in BNB. */
  bnbPrice?: number;
  /** A post-only order that would take is accepted and expires (Binance USDⓈ-M GTX, Bybit) instead of refused. */
  postOnlyExpires?: boolean;
}

export interface BookEvent {
  order: FakeOrder;
  trade?: FakeTrade;
  execType: 'NEW' | 'TRADE' | 'CANCELED' | 'EXPIRED' | 'TRIGGERED';
}

const EPS = 1e-9;
const round = (x: number, d = 10): number => Number(x.toFixed(d));
const isWorking = (o: FakeOrder): boolean => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED';

export class FakeBook {
  readonly type: 'spot' | 'perp';
  readonly markets = new Map<string, FakeMarket>();
  readonly prices = new Map<string, number>();
  readonly orders: FakeOrder[] = [];
  readonly byCoid = new Map<string, FakeOrder>();
  readonly byId = new Map<number, FakeOrder>();
  readonly trades: FakeTrade[] = [];
  readonly income: FakeIncome[] = [];
  readonly balances = new Map<string, { free: number; locked: number }>();
  /** Perps: signed quantity and entry per symbol. */
  readonly positions = new Map<string, { qty: number; entry: number; updateTime: number }>();
  readonly leverage = new Map<string, number>();
  readonly marginType = new Map<string, 'ISOLATED' | 'CROSSED'>();
  /** At most this quantity of an order fills per price step (scripted partial fills). */
  readonly liquidity = new Map<string, number>();
  /** Heard on every order change and trade (websocket pushes). */
  listeners: Array<(e: BookEvent) => void> = [];
  makerFee: number;
  takerFee: number;
  feeAsset: FeeAsset;
  bnbPrice: number;
  private seqOrder = 5000;
  private seqTrade = 100000;
  private seqIncome = 900000;
  private readonly now: () => number;
  private readonly postOnlyExpires: boolean;

  constructor(o: FakeBookOptions) {
    this.type = o.type;
    this.now = o.now;
    for (const m of o.markets) {
      this.markets.set(m.id, m);
      this.leverage.set(m.id, 20);
      this.marginType.set(m.id, 'CROSSED');
    }
    for (const [a, v] of Object.entries(o.balances)) this.balances.set(a, { free: v, locked: 0 });
    this.makerFee = o.makerFee ?? 0.001;
    this.takerFee = o.takerFee ?? 0.001;
    this.feeAsset = o.feeAsset ?? 'quote';
    this.bnbPrice = o.bnbPrice ?? 600;
    this.postOnlyExpires = o.postOnlyExpires ?? false;
  }

  price(symbol: string): number {
    const p = this.prices.get(symbol);
    if (p === undefined) throw new Error(`fake book: no price for ${symbol}`);
    return p;
  }

  bal(asset: string): { free: number; locked: number } {
    let b = this.balances.get(asset);
    if (!b) {
      b = { free: 0, locked: 0 };
      this.balances.set(asset, b);
    }
    return b;
  }

  /** Perps wallet (the quote asset of the first market). */
  get quote(): string {
    return [...this.markets.values()][0]!.quote;
  }

  working(symbol?: string): FakeOrder[] {
    return this.orders.filter((o) => isWorking(o) && (symbol === undefined || o.symbol === symbol));
  }

  positionMargin(symbol: string): number {
    const p = this.positions.get(symbol);
    if (!p || p.qty === 0) return 0;
    return (Math.abs(p.qty) * p.entry) / (this.leverage.get(symbol) ?? 1);
  }

  openOrderMargin(symbol?: string): number {
    let m = 0;
    for (const o of this.working(symbol)) {
      if (o.reduceOnly || o.conditional) continue;
      const px = o.price ?? o.stopPrice ?? this.price(o.symbol);
      m += ((o.qty - o.filled) * px) / (this.leverage.get(o.symbol) ?? 1);
    }
    return m;
  }

  /** Perps: wallet − position margins − open order margins. */
  available(): number {
    const w = this.bal(this.quote).free;
    let used = 0;
    for (const s of this.markets.keys()) used += this.positionMargin(s);
    return w - used - this.openOrderMargin();
  }

  place(r: PlaceRequest): FakeOrder {
    const m = this.markets.get(r.symbol);
    if (!m) throw new BookReject('bad_symbol', `unknown symbol ${r.symbol}`);
    if (this.byCoid.has(r.coid)) throw new BookReject('duplicate', `duplicate client order id ${r.coid}`);
    const last = this.price(r.symbol);
    let qty = r.qty ?? 0;
    if (r.quoteQty !== undefined) qty = Math.floor(r.quoteQty / last / m.step + EPS) * m.step;
    qty = round(qty);
    if (r.quoteQty === undefined) {
      if (!(qty > 0)) throw new BookReject('bad_params', 'quantity missing');
      if (Math.abs(qty / m.step - Math.round(qty / m.step)) > 1e-6)
        throw new BookReject('lot_size', `quantity ${qty} is not a multiple of ${m.step}`);
    }
    if (qty < m.minQty - EPS) throw new BookReject('min_qty', `quantity ${qty} below ${m.minQty}`);
    if (r.trailRate !== undefined) r = { ...r, stopPrice: trailStop(r.side, last, r.trailRate) };
    const px = r.kind === 'market' ? last : r.kind === 'stop_market' ? r.stopPrice! : r.price!;
    const notional = r.quoteQty ?? qty * px;
    if (notional < m.minNotional - EPS && !(this.type === 'perp' && r.reduceOnly))
      throw new BookReject('min_notional', `notional ${notional} below ${m.minNotional}`);
    if ((r.kind === 'stop_market' || r.kind === 'stop_limit') && (r.side === 'SELL' ? last <= r.stopPrice! : last >= r.stopPrice!))
      throw new BookReject('would_trigger', 'stop would trigger immediately');
    const marketable = r.kind === 'market' || (r.kind === 'limit' && (r.side === 'BUY' ? r.price! >= last : r.price! <= last));
    if (r.postOnly && marketable && !this.postOnlyExpires) throw new BookReject('would_take', 'post-only order would take');

    const now = this.now();
    const o: FakeOrder = {
      id: ++this.seqOrder,
      coid: r.coid,
      symbol: r.symbol,
      side: r.side,
      kind: r.kind,
      venueType: r.venueType,
      qty,
      tif: r.tif,
      postOnly: r.postOnly,
      reduceOnly: r.reduceOnly,
      status: 'NEW',
      filled: 0,
      cumQuote: 0,
      time: now,
      updateTime: now,
      triggered: false,
      locked: 0,
    };
    if (r.quoteQty !== undefined) o.quoteQty = r.quoteQty;
    if (r.price !== undefined) o.price = r.price;
    if (r.stopPrice !== undefined) o.stopPrice = r.stopPrice;
    if (r.conditional) o.conditional = { status: 'NEW', triggerTime: 0 };
    if (r.trailRate !== undefined) o.trail = { rate: r.trailRate, best: last };

    // Funds.
    if (this.type === 'spot') {
      if (r.side === 'BUY') {
        const need = notional * (1 + this.takerFee);
        if (need > this.bal(m.quote).free + EPS) throw new BookReject('insufficient_balance', `need ${need} ${m.quote}`);
        if (r.kind !== 'market') this.lock(o, m.quote, qty * px);
      } else {
        if (qty > this.bal(m.base).free + EPS) throw new BookReject('insufficient_balance', `need ${qty} ${m.base}`);
        if (r.kind !== 'market') this.lock(o, m.base, qty);
      }
    } else {
      const pos = this.positions.get(r.symbol);
      const reducing = pos !== undefined && pos.qty !== 0 && pos.qty > 0 === (r.side === 'SELL');
      if (r.reduceOnly && !reducing) throw new BookReject('reduce_only', 'reduce-only order would increase the position');
      if (!r.reduceOnly) {
        const opening = Math.max(0, qty - (reducing ? Math.abs(pos!.qty) : 0));
        const need = (opening * px) / (this.leverage.get(r.symbol) ?? 1) + qty * px * this.takerFee;
        if (need > this.available() + EPS) throw new BookReject('insufficient_margin', `need ${need}, available ${this.available()}`);
      }
    }

    this.orders.push(o);
    this.byCoid.set(o.coid, o);
    this.byId.set(o.id, o);
    this.emit({ order: o, execType: 'NEW' });
    if (r.postOnly && marketable) {
      this.finish(o, 'EXPIRED');
      return o;
    }
    if (marketable) this.match(o, last, false);
    if (isWorking(o) && r.tif === 'IOC') this.finish(o, 'EXPIRED');
    return o;
  }

  cancel(o: FakeOrder): void {
    if (!isWorking(o)) return;
    if (o.conditional && o.conditional.status === 'TRIGGERED' && o.conditional.actualOrderId !== undefined) {
      const child = this.byId.get(o.conditional.actualOrderId);
      if (child) this.cancel(child);
      return;
    }
    this.finish(o, 'CANCELED');
  }

  /** Move the price of a symbol and match its working orders (arrival order). */
  setPrice(symbol: string, price: number): void {
    this.prices.set(symbol, price);
    for (const o of this.working(symbol)) {
      if (!isWorking(o)) continue;
      if (o.conditional && o.triggered) continue; // the order it became trades instead
      if ((o.kind === 'stop_market' || o.kind === 'stop_limit') && !o.triggered) {
        if (o.trail) {
          o.trail.best = o.side === 'SELL' ? Math.max(o.trail.best, price) : Math.min(o.trail.best, price);
          o.stopPrice = trailStop(o.side, o.trail.best, o.trail.rate);
        }
        if (o.side === 'SELL' ? price > o.stopPrice! : price < o.stopPrice!) continue;
        this.trigger(o, price);
        continue;
      }
      const limit = o.kind === 'limit' || o.kind === 'stop_limit' ? o.price! : undefined;
      if (limit !== undefined && (o.side === 'BUY' ? price > limit : price < limit)) continue;
      this.match(o, limit ?? price, limit !== undefined);
    }
  }

  private trigger(o: FakeOrder, price: number): void {
    o.triggered = true;
    const now = this.now();
    if (o.conditional) {
      // The conditional becomes a regular order with its own id (and client id), like Binance's algo service.
      const child: FakeOrder = {
        ...o,
        id: ++this.seqOrder,
        coid: `autoalgo-${o.id}`,
        kind: o.kind === 'stop_market' ? 'market' : 'limit',
        venueType: o.kind === 'stop_market' ? 'MARKET' : 'LIMIT',
        status: 'NEW',
        filled: 0,
        cumQuote: 0,
        time: now,
        updateTime: now,
        triggered: true,
        parentId: o.id,
        locked: 0,
      };
      delete child.conditional;
      delete child.stopPrice;
      delete child.trail;
      this.orders.push(child);
      this.byCoid.set(child.coid, child);
      this.byId.set(child.id, child);
      o.conditional = { status: 'TRIGGERED', actualOrderId: child.id, triggerTime: now };
      o.updateTime = now;
      this.emit({ order: o, execType: 'TRIGGERED' });
      this.emit({ order: child, execType: 'NEW' });
      const limit = child.price;
      if (child.kind === 'market' || (limit !== undefined && (child.side === 'BUY' ? price <= limit : price >= limit)))
        this.match(child, limit !== undefined && child.kind === 'limit' ? Math.min(limit, price) : price, false);
      return;
    }
    this.emit({ order: o, execType: 'TRIGGERED' });
    if (o.kind === 'stop_market') this.match(o, price, false);
    else if (o.side === 'BUY' ? price <= o.price! : price >= o.price!) this.match(o, price, false);
  }

  /**
   * Fill what the liquidity allows of `o` at `price`. Market-like orders fill completely now (in
   * trades of at most the liquidity cap: several trades at once); limits fill at most the cap per
   * price step (several trades across steps).
   */
  private match(o: FakeOrder, price: number, maker: boolean): void {
    const marketLike = o.kind === 'market' || o.kind === 'stop_market';
    const cap = this.liquidity.get(o.symbol);
    for (let i = 0; i < 1000 && isWorking(o); i++) {
      let q = round(o.qty - o.filled);
      if (cap !== undefined) q = Math.min(q, cap);
      if (this.type === 'perp' && o.reduceOnly) {
        const p = this.positions.get(o.symbol);
        const max = p && p.qty > 0 === (o.side === 'SELL') ? Math.abs(p.qty) : 0;
        q = Math.min(q, max);
      }
      if (q <= EPS) break;
      this.fill(o, q, price, maker);
      if (!marketLike) break;
    }
    if (marketLike && isWorking(o)) this.finish(o, 'EXPIRED');
  }

  private fill(o: FakeOrder, qty: number, price: number, maker: boolean): void {
    const m = this.markets.get(o.symbol)!;
    const now = this.now();
    const notional = qty * price;
    const rate = maker ? this.makerFee : this.takerFee;
    let commission = notional * rate;
    let commissionAsset = m.quote;
    let realized = 0;
    if (this.type === 'spot') {
      const quote = this.bal(m.quote);
      const base = this.bal(m.base);
      const release = o.locked > 0 ? o.locked * Math.min(1, qty / (o.qty - o.filled)) : 0;
      if (o.side === 'BUY') {
        quote.locked -= release;
        quote.free += release - notional;
        base.free += qty;
      } else {
        base.locked -= release;
        base.free += release - qty;
        quote.free += notional;
      }
      o.locked -= release;
      if (this.feeAsset === 'base' || (this.feeAsset === 'received' && o.side === 'BUY')) {
        commission = qty * rate;
        commissionAsset = m.base;
        base.free -= commission;
      } else if (this.feeAsset === 'BNB') {
        commission = (notional * rate * 0.75) / this.bnbPrice; // the BNB discount
        commissionAsset = 'BNB';
        this.bal('BNB').free -= commission;
      } else quote.free -= commission;
    } else {
      const p = this.positions.get(o.symbol) ?? { qty: 0, entry: 0, updateTime: now };
      const signed = o.side === 'BUY' ? qty : -qty;
      if (p.qty !== 0 && Math.sign(p.qty) !== Math.sign(signed)) {
        const closing = Math.min(Math.abs(p.qty), qty);
        realized = closing * (price - p.entry) * Math.sign(p.qty);
        const left = p.qty + signed;
        if (Math.abs(left) < EPS) {
          p.qty = 0;
          p.entry = 0;
        } else if (Math.sign(left) !== Math.sign(p.qty)) {
          p.qty = left;
          p.entry = price;
        } else p.qty = left;
      } else {
        const total = Math.abs(p.qty) + qty;
        p.entry = (Math.abs(p.qty) * p.entry + qty * price) / total;
        p.qty += signed;
      }
      p.qty = round(p.qty);
      p.updateTime = now;
      this.positions.set(o.symbol, p);
      this.bal(m.quote).free += realized - commission;
    }
    o.filled = round(o.filled + qty);
    o.cumQuote = round(o.cumQuote + notional, 8);
    o.updateTime = now;
    o.status = o.filled >= o.qty - EPS ? 'FILLED' : 'PARTIALLY_FILLED';
    const t: FakeTrade = {
      id: ++this.seqTrade,
      orderId: o.id,
      coid: o.coid,
      symbol: o.symbol,
      side: o.side,
      price,
      qty,
      quoteQty: round(notional, 8),
      commission: round(commission, 10),
      commissionAsset,
      maker,
      time: now,
      realizedPnl: round(realized, 8),
    };
    this.trades.push(t);
    if (o.status === 'FILLED') this.unlock(o);
    this.emit({ order: o, trade: t, execType: 'TRADE' });
    if (o.status === 'FILLED') this.parentDone(o);
  }

  finish(o: FakeOrder, status: 'CANCELED' | 'EXPIRED' | 'REJECTED'): void {
    o.status = status;
    o.updateTime = this.now();
    if (o.conditional) o.conditional.status = status === 'REJECTED' ? 'REJECTED' : status === 'CANCELED' ? 'CANCELED' : 'EXPIRED';
    this.unlock(o);
    this.emit({ order: o, execType: status === 'CANCELED' ? 'CANCELED' : 'EXPIRED' });
    this.parentDone(o);
  }

  /** The conditional behind a triggered order is FINISHED once that order is. */
  private parentDone(o: FakeOrder): void {
    if (o.parentId === undefined || isWorking(o)) return;
    const parent = this.byId.get(o.parentId);
    if (!parent?.conditional) return;
    parent.conditional.status = 'FINISHED';
    parent.status = o.status;
    parent.filled = o.filled;
    parent.cumQuote = o.cumQuote;
    parent.updateTime = this.now();
    this.emit({ order: parent, execType: 'TRIGGERED' });
  }

  private lock(o: FakeOrder, asset: string, amount: number): void {
    const b = this.bal(asset);
    b.free -= amount;
    b.locked += amount;
    o.locked = amount;
    o.lockedAsset = asset;
  }

  private unlock(o: FakeOrder): void {
    if (o.locked > 0 && o.lockedAsset) {
      const b = this.bal(o.lockedAsset);
      b.free += o.locked;
      b.locked -= o.locked;
      if (Math.abs(b.locked) < 1e-9) b.locked = 0;
      o.locked = 0;
    }
  }

  /** Perps: pay funding on every open position (positive rate: longs pay shorts). */
  fund(symbol: string, rate: number): FakeIncome | undefined {
    const p = this.positions.get(symbol);
    if (!p || p.qty === 0) return undefined;
    const amount = round(-p.qty * this.price(symbol) * rate, 8);
    this.bal(this.quote).free += amount;
    const inc: FakeIncome = { tranId: ++this.seqIncome, symbol, type: 'FUNDING_FEE', amount, asset: this.quote, time: this.now(), rate };
    this.income.push(inc);
    return inc;
  }

  private emit(e: BookEvent): void {
    for (const l of this.listeners) l(e);
  }
}

/**
 * What every fake venue has in common: an account book, an HTTP server with a request log and
 * fault injection, and user-data websockets. Subclasses route the venue's own API.
 */
export abstract class FakeVenue<S extends WebSocket = WebSocket> {
  abstract readonly book: FakeBook;
  abstract readonly http: FakeHttpServer;
  protected readonly streams = new Set<S>();

  async start(): Promise<this> {
    await this.http.start();
    return this;
  }

  async close(): Promise<void> {
    this.dropStreams();
    await this.http.close();
  }

  /** Drop every user-data websocket (clients must reconnect). */
  dropStreams(): void {
    for (const w of this.streams) w.terminate();
    this.streams.clear();
  }

  get url(): string {
    return this.http.url;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.http.port}`;
  }

  get requests(): FakeRequest[] {
    return this.http.requests;
  }

  inject(fault: Fault): void {
    this.http.inject(fault);
  }

  /** Logged requests to a path (a prefix with '*'), optionally one method. */
  find(path: string, method?: string): FakeRequest[] {
    return this.http.find(path, method);
  }

  setPrice(symbol: string, price: number): void {
    this.book.setPrice(symbol, price);
  }

  /** The client order id of every order-creating request that reached the server. */
  abstract sentClientOrderIds(): string[];
}
