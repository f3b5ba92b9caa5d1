// Reconciliation with the REAL ccxt against the local fake Binance (test/fakes/exchange/binance.ts):
// a real Engine + a file Journal + the live adapter + the Reconciler, wired like src/app/bot.ts.
// A "world" is one venue account and one journal file that outlive the bot's processes: a test
// stops a process (adapter closed, journal closed), lets the venue move on, and boots a fresh one
// on the same journal. No network: the fake listens on 127.0.0.1.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ccxt from 'ccxt';
import { afterEach, describe, expect, test } from 'vitest';
import { MemoryAlertSink } from '../../src/core/alerts.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { Order } from '../../src/core/types.ts';
import { Reconciler, type ReconcileReport } from '../../src/engine/reconcile.ts';
import { CcxtExchange, RESOLVE_MARGIN_MS } from '../../src/exchange/ccxt/index.ts';
import { Journal } from '../../src/journal/journal.ts';
import { FakeBinance, type FakeOrder } from '../fakes/exchange/binance.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { idleEngine, TestClock, realSleep, until } from '../helpers/venue-time.ts';

const SYM = 'BTC/USDT';
const KEY = 'fake-api-key-0123456789';
const SECRET = 'fake-api-secret-0123456789';
const RECV = 2000;
/** What the bot gives an order the venue doesn't know yet (src/app/bot.ts: recvWindow + 5 s). */
const GRACE = RECV + RESOLVE_MARGIN_MS;
/** The adapter's polling period (simulated ms; a distinctive value so the rig's sleep can hold the poller). */
const POLL_MS = 997;

interface World {
  type: 'spot' | 'perp';
  clock: TestClock;
  fake: FakeBinance;
  dir: string;
  journalPath: string;
  procs: Proc[];
}

/** One run of the bot: adapter + engine + reconciler on the world's journal. */
interface Proc {
  ex: CcxtExchange;
  engine: Engine;
  journal: Journal;
  reconciler: Reconciler;
  alerts: MemoryAlertSink;
  /** While held, the adapter's REST poller sleeps (and the clock doesn't move for it). */
  polls: { held: boolean };
  stopped: boolean;
  candle(close: number): void;
  order(side: 'buy' | 'sell', qty: number, price?: number): Order;
  reconcile(trigger: string, accept?: boolean): Promise<ReconcileReport>;
  /** The process goes down: adapter and journal closed; nothing it was told later reaches the journal. */
  stop(): Promise<void>;
}

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) {
    for (const p of w.procs) await p.stop();
    await w.fake.close();
    rmSync(w.dir, { recursive: true, force: true });
  }
});

async function world(type: 'spot' | 'perp'): Promise<World> {
  const clock = new TestClock();
  const fake = await new FakeBinance({ type, now: () => clock.now(), apiKey: KEY }).start();
  const dir = mkdtempSync(join(tmpdir(), 'skipper-reconcile-live-'));
  const w: World = { type, clock, fake, dir, journalPath: join(dir, 'journal.db'), procs: [] };
  worlds.push(w);
  return w;
}

async function boot(w: World, opts: { websocket?: boolean; pollHeld?: boolean; stopLossPct?: number } = {}): Promise<Proc> {
  const { clock, fake, type } = w;
  const journal = new Journal({ path: w.journalPath });
  // As the bot's first connect records it (Bot.adoptStartingCash): the account's start and starting cash.
  if (journal.getState('account', null) === null)
    journal.setState('account', { startingCash: 10_000, quote: 'USDT', createdAt: clock.now(), fromVenue: true }, clock.now());
  const c = type === 'spot' ? new ccxt.pro.binance({ enableRateLimit: false }) : new ccxt.pro.binanceusdm({ enableRateLimit: false });
  c.timeout = 3000; // a hung create stays unanswered until the test has "crashed" the process
  const alerts = new MemoryAlertSink();
  const polls = { held: opts.pollHeld ?? false };
  const proc = { polls, stopped: false } as Proc;
  const ex = new CcxtExchange({
    venue: 'binance',
    marketType: type,
    testnet: false,
    symbols: [SYM],
    credentials: { apiKey: KEY, secret: SECRET },
    clock,
    log: silentLogger(),
    leverage: 5,
    marginMode: 'isolated',
    websocket: opts.websocket ?? false,
    pollMs: POLL_MS,
    recvWindowMs: RECV,
    apiUrl: fake.url,
    wsUrl: fake.wsUrl,
    exchange: c,
    // Simulated waits: the clock jumps, real time barely passes (a poll ≈ 20 ms).
    sleep: async (ms) => {
      if (ms === POLL_MS) while (polls.held && !proc.stopped) await realSleep(5);
      clock.advance(ms);
      await realSleep(Math.max(1, Math.min(ms / 10, 20)));
    },
  });
  // As the bot wires it: the venue connection (or its order stream) coming back triggers a reconciliation.
  const onReconnect = () => void reconciler.run('reconnect').catch(() => undefined);
  const engine = idleEngine({
    clock,
    journal,
    exchange: ex,
    alerts,
    marketType: type,
    leverage: 5,
    limits: { maxLeverage: 5, ...(opts.stopLossPct !== undefined ? { stopLossPct: opts.stopLossPct } : {}) },
    onReconnect,
  });
  const reconciler = new Reconciler(engine, journal, ex, alerts, silentLogger(), clock, { inFlightGraceMs: GRACE });
  Object.assign(proc, {
    ex,
    engine,
    journal,
    reconciler,
    alerts,
    candle(close: number) {
      const ts = Math.floor(clock.now() / 60_000) * 60_000 - 60_000;
      engine.onCandle(SYM, { ts, open: close, high: close, low: close, close, volume: 10 });
    },
    order(side: 'buy' | 'sell', qty: number, price?: number) {
      const r = engine.manualOrder({ symbol: SYM, side, qty, ...(price !== undefined ? { price } : {}) }, 'test');
      if (!r.order) throw new Error(`order refused: ${r.decision.reason}`);
      return r.order;
    },
    reconcile: (trigger: string, accept = false) => reconciler.run(trigger, { accept }),
    async stop() {
      if (proc.stopped) return;
      proc.stopped = true;
      reconciler.stop();
      await ex.close();
      journal.close();
    },
  } satisfies Omit<Proc, 'polls' | 'stopped'>);
  w.procs.push(proc);
  await ex.connect();
  engine.setMarket(SYM, ex.market(SYM));
  return proc;
}

/** An order someone else placed on the account (the venue's app, another bot): no `sk-` prefix. */
function external(w: World, p: { coid: string; side: 'BUY' | 'SELL'; qty: number; price?: number }): FakeOrder {
  return w.fake.book.place({
    symbol: 'BTCUSDT',
    side: p.side,
    kind: p.price === undefined ? 'market' : 'limit',
    venueType: p.price === undefined ? 'MARKET' : 'LIMIT',
    coid: p.coid,
    qty: p.qty,
    ...(p.price !== undefined ? { price: p.price } : {}),
    tif: 'GTC',
    postOnly: false,
    reduceOnly: false,
    conditional: false,
  });
}

/** The account's total of an asset on the venue. */
const venueHolds = (w: World, asset: string): number => {
  const b = w.fake.book.bal(asset);
  return b.free + b.locked;
};
const sentCount = (w: World, coid: string): number => w.fake.sentClientOrderIds().filter((c) => c === coid).length;
/** The reconciliations journaled, oldest first. */
const rows = (j: Journal) => j.recentReconciliations(1000).reverse();
const lastRow = (j: Journal) => j.recentReconciliations(1)[0]!;

describe('reconciliation against the fake Binance with the real ccxt', () => {
  test('an order that filled while the bot was down: the fill is recorded once, the order filled, the books equal the venue', async () => {
    const w = await world('spot');
    const a = await boot(w);
    a.candle(30_000);
    expect((await a.reconcile('startup')).status).toBe('ok');
    const o = a.order('buy', 0.01, 29_900);
    await until(() => o.status === 'open', 'resting on the venue');
    await a.stop(); // the bot goes down…
    w.fake.setPrice('BTCUSDT', 29_850); // …and its order fills meanwhile
    expect(w.fake.order(o.clientOrderId)!.status).toBe('FILLED');
    const trade = w.fake.book.trades.at(-1)!;
    w.clock.advance(2 * 3_600_000); // down for two hours

    const b = await boot(w, { pollHeld: true }); // a fresh adapter and engine on the same journal
    expect(b.journal.getOrder(o.clientOrderId)!.status).toBe('open');
    expect(b.journal.fills()).toHaveLength(0);
    const rep = await b.reconcile('startup');
    expect(rep).toMatchObject({ status: 'fixed', missingFills: 1, resolvedOrders: [o.clientOrderId], problems: [] });
    expect(b.journal.fills()).toEqual([
      expect.objectContaining({ clientOrderId: o.clientOrderId, tradeId: `BTCUSDT:${trade.id}`, side: 'buy', qty: 0.01, price: 29_900 }),
    ]);
    expect(b.journal.getOrder(o.clientOrderId)).toMatchObject({ status: 'filled', filledQty: 0.01 });
    expect(b.engine.liveOrders.size).toBe(0);
    expect(b.engine.portfolio.positions.get(SYM)!.qty).toBeCloseTo(venueHolds(w, 'BTC'), 12);
    expect(b.engine.portfolio.cash).toBeCloseTo(venueHolds(w, 'USDT'), 6);
    expect(b.alerts.alerts).toContainEqual(expect.objectContaining({ type: 'reconciliation', severity: 'info' }));

    const again = await b.reconcile('timer');
    expect(again).toMatchObject({ status: 'ok', missingFills: 0, resolvedOrders: [] });
    // The live path hears the same trade too once the poller runs: the journal keeps it once.
    const polled = w.fake.find('/api/v3/myTrades').length;
    b.polls.held = false;
    await until(() => w.fake.find('/api/v3/myTrades').length >= polled + 2, 'two polls');
    expect(b.journal.fills()).toHaveLength(1);
    expect(b.journal.count('positions')).toBe(1);
    expect(rows(b.journal).map((r) => [r.trigger, r.status])).toEqual([
      ['startup', 'ok'],
      ['startup', 'fixed'],
      ['timer', 'ok'],
    ]);
    expect(rows(b.journal)[1]!.details).toMatchObject({ missingFills: 1, resolvedOrders: [o.clientOrderId], problems: [] });
  });

  test('orders in doubt after a crash: the one the venue took is resolved from it (never re-sent); the one it never got is closed out after the grace', async () => {
    const w = await world('spot');
    const a = await boot(w);
    a.candle(30_000);
    await a.reconcile('startup');
    // The venue takes the create but the answer never comes back…
    w.fake.inject({ kind: 'acceptThenHang', method: 'POST', path: '/api/v3/order' });
    const taken = a.order('buy', 0.01);
    await until(() => w.fake.order(taken.clientOrderId) !== undefined, 'venue accepted');
    // …and the next order is journaled, then the process dies before sending it.
    a.ex.submit = () => undefined;
    const lost = a.order('buy', 0.002);
    await a.stop();
    expect(sentCount(w, lost.clientOrderId)).toBe(0);

    w.clock.advance(1_000); // back quickly: still inside the receive window
    const b = await boot(w, { pollHeld: true });
    expect(b.journal.getOrder(taken.clientOrderId)!.status).toBe('submitted');
    expect(b.journal.getOrder(lost.clientOrderId)!.status).toBe('submitted');
    const first = await b.reconcile('startup');
    expect(first).toMatchObject({ status: 'fixed', missingFills: 1, resolvedOrders: [taken.clientOrderId], neverSent: [] });
    expect(b.journal.getOrder(taken.clientOrderId)).toMatchObject({ status: 'filled', filledQty: 0.01 });
    expect(b.journal.getOrder(taken.clientOrderId)!.exchangeOrderId).toBe(String(w.fake.order(taken.clientOrderId)!.id));
    // The unknown one may still be in flight: left as it is.
    expect(b.journal.getOrder(lost.clientOrderId)!.status).toBe('submitted');
    expect(b.engine.liveOrders.has(lost.clientOrderId)).toBe(true);
    // Looked up by client order id, never created again.
    expect(w.fake.find('/api/v3/order', 'GET').some((q) => q.params['origClientOrderId'] === lost.clientOrderId)).toBe(true);
    expect(sentCount(w, taken.clientOrderId)).toBe(1);

    w.clock.advance(GRACE);
    const later = await b.reconcile('timer');
    expect(later).toMatchObject({ status: 'fixed', neverSent: [lost.clientOrderId], resolvedOrders: [], missingFills: 0 });
    expect(b.journal.getOrder(lost.clientOrderId)).toMatchObject({
      status: 'rejected',
      reason: 'never reached the venue (sent before the restart; the venue has no such order)',
    });
    // The trader was told it went out: they hear that it did not.
    expect(b.alerts.alerts.find((a) => a.title === 'Your buy BTC/USDT was not placed')?.message).toBe(
      `${lost.clientOrderId} (buy BTC/USDT, asked before the restart) never reached the venue: nothing was done. /buy again if you still want it.`,
    );
    expect(sentCount(w, lost.clientOrderId)).toBe(0);
    expect(sentCount(w, taken.clientOrderId)).toBe(1);
    expect(b.engine.liveOrders.size).toBe(0);
    expect(b.engine.portfolio.positions.get(SYM)!.qty).toBeCloseTo(venueHolds(w, 'BTC'), 12);
    expect(b.engine.portfolio.cash).toBeCloseTo(venueHolds(w, 'USDT'), 6);
    expect((await b.reconcile('timer')).status).toBe('ok');
    expect(rows(b.journal).map((r) => [r.trigger, r.status])).toEqual([
      ['startup', 'ok'],
      ['startup', 'fixed'],
      ['timer', 'fixed'],
      ['timer', 'ok'],
    ]);
    expect(rows(b.journal)[2]!.details).toMatchObject({ neverSent: [lost.clientOrderId] });
  });

  test('a stop-loss journaled but never sent before the crash is placed again at start-up, with no UNPROTECTED alert', async () => {
    const w = await world('spot');
    const a = await boot(w, { stopLossPct: 0.02 });
    a.candle(30_000);
    await a.reconcile('startup');
    // The entry goes out; the process dies after journaling its stop, before sending it.
    const submit = a.ex.submit.bind(a.ex);
    a.ex.submit = (o) => (o.purpose === 'stop_loss' ? undefined : submit(o));
    const entry = a.order('buy', 0.01);
    await until(() => entry.status === 'filled' && a.engine.liveOrders.size === 1, 'entry filled, stop journaled');
    const [lost] = a.engine.liveOrders.values();
    expect(lost).toMatchObject({ purpose: 'stop_loss', status: 'submitted' });
    await a.stop();
    expect(sentCount(w, lost!.clientOrderId)).toBe(0);

    w.clock.advance(GRACE);
    const b = await boot(w, { pollHeld: true, stopLossPct: 0.02 });
    expect(await b.reconcile('startup')).toMatchObject({ neverSent: [lost!.clientOrderId], problems: [] });
    b.engine.protectPositions(); // as the bot does after reconciliation: nothing more to place
    const stops = [...b.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
    expect(stops).toHaveLength(1);
    const again = stops[0]!;
    expect(again.clientOrderId).not.toBe(lost!.clientOrderId);
    await until(() => again.status === 'open', 'new stop on the venue');
    expect(w.fake.order(again.clientOrderId)).toMatchObject({ qty: 0.01, stopPrice: lost!.stopPrice });
    expect(b.journal.getOrder(lost!.clientOrderId)).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/never reached the venue/),
    });
    expect(b.alerts.alerts.filter((x) => /UNPROTECTED/.test(x.title))).toEqual([]);
    expect(b.alerts.alerts).toContainEqual(
      expect.objectContaining({
        severity: 'warning',
        title: `${SYM} stop-loss placed again`,
        message: expect.stringContaining(again.clientOrderId),
      }),
    );
    expect(b.engine.status().unprotected).toEqual([]);
  });

  test('a stop-loss whose create is lost mid-run (never reaches the venue) is placed again at once', async () => {
    const w = await world('perp');
    const a = await boot(w, { stopLossPct: 0.02 });
    a.candle(30_000);
    await a.reconcile('startup');
    // The stop's create is dropped before the venue processes it.
    w.fake.inject({ kind: 'drop', method: 'POST', path: '/fapi/v1/algoOrder', match: (q) => q['side'] === 'SELL' });
    const entry = a.order('buy', 0.01);
    await until(() => entry.status === 'filled', 'entry filled');
    const first = [...a.engine.liveOrders.values()].find((o) => o.purpose === 'stop_loss')!;
    await until(() => first.status === 'rejected', 'lost stop closed out after the recvWindow', 8000);
    expect(first.reason).toMatch(/^never reached the venue/);
    const stops = () => [...a.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
    await until(() => stops().length === 1 && stops()[0]!.status === 'open', 'stop placed again', 8000);
    expect(w.fake.order(stops()[0]!.clientOrderId)).toMatchObject({ qty: 0.01 });
    expect(a.alerts.alerts.filter((x) => /UNPROTECTED/.test(x.title))).toEqual([]);
    expect(a.engine.status().unprotected).toEqual([]);
  });

  test('an order the bot did not place is reported as external and left alone; with adoptExternal it is adopted', async () => {
    const w = await world('spot');
    const b = await boot(w);
    expect((await b.reconcile('startup')).status).toBe('ok');
    const ext = external(w, { coid: 'phone-1', side: 'BUY', qty: 0.01, price: 29_000 });
    const rep = await b.reconcile('timer');
    expect(rep.status).toBe('ok');
    expect(rep.external).toEqual([
      expect.objectContaining({
        clientOrderId: 'phone-1',
        exchangeOrderId: String(ext.id),
        side: 'buy',
        type: 'limit',
        status: 'open',
        qty: 0.01,
        price: 29_000,
      }),
    ]);
    expect(b.alerts.alerts).toContainEqual(
      expect.objectContaining({
        type: 'reconciliation',
        severity: 'warning',
        message: expect.stringMatching(/1 open order on the venue not placed by this bot \(left alone\)/),
      }),
    );
    expect(lastRow(b.journal).details).toMatchObject({ external: [expect.objectContaining({ clientOrderId: 'phone-1' })] });
    // Left alone: not cancelled, not booked.
    expect(b.journal.getOrder('phone-1')).toBeUndefined();
    expect(b.engine.liveOrders.has('phone-1')).toBe(false);
    expect(w.fake.find('/api/v3/order', 'DELETE')).toHaveLength(0);
    expect(ext.status).toBe('NEW');

    const adopting = new Reconciler(b.engine, b.journal, b.ex, b.alerts, silentLogger(), w.clock, {
      inFlightGraceMs: GRACE,
      adoptExternal: true,
    });
    const adopted = await adopting.run('timer');
    expect(adopted).toMatchObject({ status: 'fixed', adopted: ['order phone-1'], external: [] });
    expect(b.journal.getOrder('phone-1')).toMatchObject({
      status: 'open',
      purpose: 'manual',
      reason: 'adopted by reconciliation',
      exchangeOrderId: String(ext.id),
      qty: 0.01,
      price: 29_000,
    });
    expect(b.engine.liveOrders.has('phone-1')).toBe(true);
    expect(lastRow(b.journal)).toMatchObject({ status: 'fixed', details: expect.objectContaining({ adopted: ['order phone-1'] }) });
    // From now on it is followed like the bot's own, and still not touched.
    expect((await b.reconcile('timer')).status).toBe('ok');
    expect(ext.status).toBe('NEW');
    expect(w.fake.find('/api/v3/order', 'DELETE')).toHaveLength(0);
  });

  test('perps: a position opened on the venue by someone else halts entries with a critical alert; accept adopts it', async () => {
    const w = await world('perp');
    const b = await boot(w);
    expect((await b.reconcile('startup')).status).toBe('ok');
    external(w, { coid: 'phone-2', side: 'SELL', qty: 0.02 });
    expect(w.fake.book.positions.get('BTCUSDT')!.qty).toBe(-0.02);
    const rep = await b.reconcile('timer');
    expect(rep.status).toBe('halted');
    expect(rep.problems).toContain('BTC/USDT: journal holds no position, the venue short 0.02');
    expect(rep.problems.join('\n')).toMatch(/USDT: the venue holds 9999\.40, the journal expects 10000\.00/); // the taker fee
    expect(b.journal.fills()).toHaveLength(0); // its trade is not the bot's
    expect(b.engine.status().breaker).toBe(true);
    expect(b.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 0.01, price: 29_000 }, 'test', { dryRun: true }).decision).toMatchObject({
      action: 'reject',
      rule: 'circuit_breaker',
    });
    const crit = b.alerts.alerts.filter((a) => a.type === 'reconciliation' && a.severity === 'critical');
    expect(crit).toHaveLength(1);
    expect(crit[0]!.title).toBe('Reconciliation: trading halted');
    expect(crit[0]!.message).toMatch(/BTC\/USDT: journal holds no position, the venue short 0\.02/);
    expect(crit[0]!.message).toMatch(/Check the account on binance.*\/reconcile accept.*\/resume/);
    expect(lastRow(b.journal)).toMatchObject({
      trigger: 'timer',
      status: 'halted',
      details: expect.objectContaining({ problems: rep.problems }),
    });

    const acc = await b.reconcile('accept', true);
    expect(acc.status).toBe('fixed');
    expect(acc.adopted).toEqual(['BTC/USDT position -0.02', 'USDT balance 9999.40 (change -0.60)']);
    expect(b.engine.portfolio.positions.get(SYM)).toMatchObject({ side: 'short', qty: 0.02, entryPrice: 30_000, leverage: 5 });
    expect(b.journal.openPositions()).toEqual([expect.objectContaining({ symbol: SYM, side: 'short', qty: 0.02, strategy: 'adopted' })]);
    expect(b.engine.portfolio.cash).toBeCloseTo(venueHolds(w, 'USDT'), 6);
    expect(lastRow(b.journal)).toMatchObject({
      trigger: 'accept',
      status: 'fixed',
      details: expect.objectContaining({ adopted: acc.adopted }),
    });
    b.engine.resume('admin', { clearBreaker: true });
    expect((await b.reconcile('timer')).status).toBe('ok');
    expect(b.engine.status().breaker).toBe(false);
  });

  test('spot: a trade made on the account by someone else is not booked; the base balance difference halts until accepted', async () => {
    const w = await world('spot');
    const b = await boot(w);
    b.candle(30_000);
    expect((await b.reconcile('startup')).status).toBe('ok');
    const mine = b.order('buy', 0.01);
    await until(() => mine.status === 'filled', 'own buy filled');
    external(w, { coid: 'phone-3', side: 'BUY', qty: 0.005 });
    // The live path hears the trade and refuses to book it.
    await until(() => b.alerts.alerts.some((a) => a.title === 'External trade on BTC/USDT'), 'external trade alert');
    expect(b.journal.fills().map((f) => f.clientOrderId)).toEqual([mine.clientOrderId]);
    expect(b.engine.portfolio.positions.get(SYM)!.qty).toBe(0.01);

    const rep = await b.reconcile('timer');
    expect(rep.status).toBe('halted');
    expect(rep.missingFills).toBe(0);
    expect(rep.problems[0]).toBe('BTC: the venue holds 0.015, the journal expects 0.01 (bot 0.01 + other 0)');
    expect(rep.problems[1]).toMatch(/^USDT: the venue holds 9549\.55, the journal expects 9699\.70/);
    expect(b.engine.status().breaker).toBe(true);
    expect(b.alerts.alerts.filter((a) => a.severity === 'critical')).toHaveLength(1);
    expect(b.journal.fills()).toHaveLength(1);

    const acc = await b.reconcile('accept', true);
    expect(acc.status).toBe('fixed');
    expect(acc.adopted[0]).toBe('BTC balance 0.015 (the bot holds 0.01)');
    expect(b.journal.getState<{ assets: Record<string, number> }>('reconcile_baseline', { assets: {} }).assets['BTC']).toBeCloseTo(
      0.005,
      12,
    );
    expect(b.engine.portfolio.positions.get(SYM)!.qty).toBe(0.01); // the bot's own holding is unchanged
    expect(b.engine.portfolio.cash).toBeCloseTo(venueHolds(w, 'USDT'), 6);
    b.engine.resume('admin', { clearBreaker: true });
    expect((await b.reconcile('timer')).status).toBe('ok');
    // The bot sells what it owns: the other 0.005 BTC stays, and the books still match.
    const sell = b.order('sell', 0.01);
    await until(() => sell.status === 'filled', 'own sell filled');
    expect(b.engine.portfolio.positions.has(SYM)).toBe(false);
    expect(venueHolds(w, 'BTC')).toBeCloseTo(0.005, 12);
    expect((await b.reconcile('timer')).status).toBe('ok');
    expect(rows(b.journal).map((r) => r.status)).toEqual(['ok', 'halted', 'fixed', 'ok', 'ok']);
    // Each reconciliation re-read the venue's trades, the external one among them: it was reported once.
    expect(b.alerts.alerts.filter((a) => a.title.startsWith('External trade') && a.message.includes('phone-3'))).toHaveLength(1);
  });

  test('spot: someone sells the bot’s coins; accept shrinks the bot’s holding to what the account has', async () => {
    const w = await world('spot');
    const b = await boot(w);
    b.candle(30_000);
    expect((await b.reconcile('startup')).status).toBe('ok');
    const mine = b.order('buy', 0.01);
    await until(() => mine.status === 'filled', 'own buy filled');
    external(w, { coid: 'phone-4', side: 'SELL', qty: 0.006 });
    const rep = await b.reconcile('timer');
    expect(rep.status).toBe('halted');
    expect(rep.problems[0]).toBe('BTC: the venue holds 0.004, the journal expects 0.01 (bot 0.01 + other 0)');
    const acc = await b.reconcile('accept', true);
    expect(acc.status).toBe('fixed');
    expect(acc.adopted[0]).toBe('BTC balance 0.004 (the bot holds 0.004, was 0.01)');
    // Not "the bot still holds 0.01 and someone else −0.006": it can only sell what is there.
    expect(b.engine.portfolio.positions.get(SYM)).toMatchObject({ side: 'long', qty: 0.004 });
    expect(b.journal.openPositions()).toEqual([expect.objectContaining({ qty: 0.004, strategy: 'adopted' })]);
    expect(b.journal.getState<{ assets: Record<string, number> }>('reconcile_baseline', { assets: {} }).assets['BTC']).toBe(0);
    b.engine.resume('admin', { clearBreaker: true });
    expect((await b.reconcile('timer')).status).toBe('ok');
    const sell = b.order('sell', b.engine.portfolio.positions.get(SYM)!.qty);
    await until(() => sell.status === 'filled' || sell.status === 'rejected', 'own sell done');
    expect(sell.status).toBe('filled');
    expect(venueHolds(w, 'BTC')).toBeCloseTo(0, 12);
    expect((await b.reconcile('timer')).status).toBe('ok');
  });

  test('an unexplained balance change (deposit, withdrawal) halts; accept records the adjustment and it survives a restart', async () => {
    const w = await world('spot');
    let b = await boot(w);
    expect((await b.reconcile('startup')).status).toBe('ok');
    w.fake.book.bal('USDT').free += 250; // a deposit
    const rep = await b.reconcile('timer');
    expect(rep.status).toBe('halted');
    expect(rep.problems).toEqual([
      'USDT: the venue holds 10250.00, the journal expects 10000.00 (deposit, withdrawal or a trade the journal missed?)',
    ]);
    expect(b.alerts.alerts).toContainEqual(
      expect.objectContaining({
        type: 'reconciliation',
        severity: 'critical',
        message: expect.stringMatching(/USDT: the venue holds 10250\.00.*\/reconcile accept/),
      }),
    );
    const acc = await b.reconcile('accept', true);
    expect(acc.adopted).toEqual(['USDT balance 10250.00 (change 250.00)']);
    expect(b.engine.portfolio.cash).toBeCloseTo(10_250, 9);
    expect(b.journal.getState('cash_adjustments', 0)).toBe(250);

    await b.stop();
    b = await boot(w);
    expect(b.engine.portfolio.cash).toBeCloseTo(10_250, 9);
    expect((await b.reconcile('startup')).status).toBe('ok');
    w.fake.book.bal('USDT').free -= 100; // a withdrawal
    // The admin's accept arrives while the timer's run is going: it is not answered by that run.
    const timer = b.reconcile('timer');
    const accept = b.reconcile('accept', true);
    expect(await timer).toMatchObject({ trigger: 'timer', status: 'halted' });
    expect(await accept).toMatchObject({ trigger: 'accept', status: 'fixed', adopted: ['USDT balance 10150.00 (change -100.00)'] });
    expect(b.journal.getState('cash_adjustments', 0)).toBe(150);

    await b.stop();
    b = await boot(w);
    expect(b.engine.portfolio.cash).toBeCloseTo(10_150, 9);
    expect((await b.reconcile('startup')).status).toBe('ok');
    expect(rows(b.journal).map((r) => [r.trigger, r.status])).toEqual([
      ['startup', 'ok'],
      ['timer', 'halted'],
      ['accept', 'fixed'],
      ['startup', 'ok'],
      ['timer', 'halted'],
      ['accept', 'fixed'],
      ['startup', 'ok'],
    ]);
  });

  test('reconnect: when the order stream comes back the engine reconciles (trigger "reconnect")', async () => {
    const w = await world('spot');
    const b = await boot(w, { websocket: true });
    await w.fake.streamReady();
    b.candle(30_000);
    expect((await b.reconcile('startup')).status).toBe('ok');
    const sockets = w.fake.find('/ws-api/v3').length;
    w.fake.dropStreams();
    await until(() => w.fake.find('/ws-api/v3').length > sockets, 'stream reconnected', 5000);
    await w.fake.streamReady();
    // The adapter says "up" once the new stream delivers: an order's events do.
    const o = b.order('buy', 0.01);
    await until(() => rows(b.journal).some((r) => r.trigger === 'reconnect'), 'reconnect reconciliation', 5000);
    const row = rows(b.journal).find((r) => r.trigger === 'reconnect')!;
    expect(['ok', 'fixed']).toContain(row.status);
    expect(row.details).toEqual(
      expect.objectContaining({ missingFills: expect.any(Number), problems: [], external: [], neverSent: [], adopted: [] }),
    );
    await until(() => o.status === 'filled', 'filled');
    expect((await b.reconcile('timer')).status).toBe('ok');
    expect(b.journal.fills()).toHaveLength(1);
    expect(b.engine.portfolio.positions.get(SYM)!.qty).toBeCloseTo(venueHolds(w, 'BTC'), 12);
  });
});

// ---- issue 7: garbage answers, confirmed differences, perp stop fills ------------------------------

describe('reconciliation under odd answers (issue 7)', () => {
  test('one garbage or odd balance answer never halts trading: garbage is a retried read, a difference counts only when a second read confirms it', async () => {
    const w = await world('spot');
    const b = await boot(w);
    b.candle(30_000);
    expect((await b.reconcile('startup')).status).toBe('ok');
    // An HTML page, then {}, with HTTP 200: read errors, retried — not "the venue holds 0.00".
    w.fake.inject({ kind: 'status', status: 200, path: '/api/v3/account', body: '<html><body>Service Unavailable</body></html>' });
    w.fake.inject({ kind: 'status', status: 200, path: '/api/v3/account', body: {} });
    expect(await b.reconcile('timer')).toMatchObject({ status: 'ok', problems: [] });
    // A well-formed answer that is wrong once (an empty account): the second read does not confirm it.
    w.fake.inject({
      kind: 'status',
      status: 200,
      path: '/api/v3/account',
      body: { accountType: 'SPOT', canTrade: true, balances: [{ asset: 'USDT', free: '0.00000000', locked: '0.00000000' }] },
    });
    const n = w.fake.find('/api/v3/account').length;
    expect(await b.reconcile('timer')).toMatchObject({ status: 'ok', problems: [] });
    expect(w.fake.find('/api/v3/account').length - n).toBe(2); // the odd read, and the one that did not confirm it
    expect(b.engine.status().breaker).toBe(false);
    expect(b.alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
    // A real difference is confirmed by the second read and halts as before.
    w.fake.book.bal('USDT').free += 100;
    const rep = await b.reconcile('timer');
    expect(rep.status).toBe('halted');
    expect(rep.problems).toEqual([
      'USDT: the venue holds 10100.00, the journal expects 10000.00 (deposit, withdrawal or a trade the journal missed?)',
    ]);
    expect(rows(b.journal).map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'halted']);
  });

  test('perps: {} on the account or one odd position read never halts', async () => {
    const w = await world('perp');
    const b = await boot(w);
    b.candle(30_000);
    expect((await b.reconcile('startup')).status).toBe('ok');
    w.fake.inject({ kind: 'status', status: 200, path: '/fapi/v3/account', body: {} });
    w.fake.inject({
      kind: 'status',
      status: 200,
      path: '/fapi/v3/positionRisk',
      body: [
        { symbol: 'BTCUSDT', positionSide: 'BOTH', positionAmt: '-0.500', entryPrice: '30000', notional: '-15000', initialMargin: '3000' },
      ],
    });
    expect(await b.reconcile('timer')).toMatchObject({ status: 'ok', problems: [] });
    expect(b.engine.status().breaker).toBe(false);
  });

  test('perps: a stop’s fill is never "External trade … not booked" — after a restart, or when it filled while the bot was down', async () => {
    const w = await world('perp');
    const a = await boot(w);
    a.candle(30_000);
    expect((await a.reconcile('startup')).status).toBe('ok');
    const stopAt = (price: number, p: Proc): Order =>
      p.engine.submit(
        { symbol: SYM, side: 'sell', type: 'stop_market', stopPrice: price, qty: 0.01, tif: 'GTC', reduceOnly: true },
        'stop_loss',
      );
    const entry = a.order('buy', 0.01);
    await until(() => entry.status === 'filled', 'entry filled');
    const stop = stopAt(29_500, a);
    await until(() => stop.status === 'open', 'stop working');
    w.fake.setPrice('BTCUSDT', 29_400); // it triggers: the algo order becomes a market order with its own ids
    await until(() => stop.status === 'filled' && !a.engine.portfolio.positions.has(SYM), 'stop filled, position closed', 6000);
    expect(a.journal.fills({ clientOrderId: stop.clientOrderId })).toHaveLength(1);
    expect((await a.reconcile('timer')).status).toBe('ok');
    await a.stop();

    // Restart: the last hour's trades are read again; the stop's is known (booked), not someone else's.
    const b = await boot(w, { pollHeld: true });
    expect(await b.reconcile('startup')).toMatchObject({ status: 'ok', missingFills: 0, problems: [] });
    expect(b.alerts.alerts.filter((x) => x.title.startsWith('External trade'))).toEqual([]);

    // A stop that fills while the bot is down: booked to the stop at the next start.
    w.fake.setPrice('BTCUSDT', 30_000);
    b.candle(30_000);
    const entry2 = b.order('buy', 0.01);
    await until(() => entry2.status === 'filled', 'second entry filled');
    const stop2 = stopAt(29_300, b);
    await until(() => stop2.status === 'open', 'second stop working');
    await b.stop();
    w.fake.setPrice('BTCUSDT', 29_200);
    const c = await boot(w, { pollHeld: true });
    const rep = await c.reconcile('startup');
    expect(rep).toMatchObject({ status: 'fixed', missingFills: 1, problems: [] });
    expect(c.journal.fills({ clientOrderId: stop2.clientOrderId })).toEqual([
      expect.objectContaining({ side: 'sell', qty: 0.01, price: 29_200 }),
    ]);
    expect(c.journal.getOrder(stop2.clientOrderId)!.status).toBe('filled');
    expect(c.engine.portfolio.positions.has(SYM)).toBe(false);
    expect(c.engine.portfolio.cash).toBeCloseTo(venueHolds(w, 'USDT'), 6);
    expect(c.alerts.alerts.filter((x) => x.title.startsWith('External trade'))).toEqual([]);
    expect((await c.reconcile('timer')).status).toBe('ok');
  });
});
