import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, MIGRATIONS_DIR } from '../../src/journal/journal.ts';
import type { Fill, Order, Signal } from '../../src/core/types.ts';

const tmp = () => join(mkdtempSync(join(tmpdir(), 'skipper-j-')), 'j.db');

const order = (coid: string): Order => ({
  clientOrderId: coid,
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  tif: 'GTC',
  reduceOnly: false,
  qty: 0.5,
  price: 100,
  status: 'new',
  filledQty: 0,
  avgPrice: 0,
  fee: 0,
  createdAt: 1000,
  updatedAt: 1000,
  purpose: 'entry',
  stopLoss: 95,
});

const fill = (tradeId: string): Fill => ({
  tradeId,
  clientOrderId: 'sk-000001',
  symbol: 'BTC/USDT',
  side: 'buy',
  price: 100,
  qty: 0.5,
  fee: 0.05,
  feeCurrency: 'USDT',
  liquidity: 'taker',
  ts: 2000,
});

describe('journal', () => {
  it('applies the migrations in migrations/ at start, in WAL mode, and again is a no-op', () => {
    const path = tmp();
    const j = new Journal({ path });
    expect(j.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (j.sqlite.prepare("select name from sqlite_master where type='table'").all() as { name: string }[]).map((r) => r.name);
    for (const t of [
      'orders',
      'fills',
      'positions',
      'decisions',
      'equity_snapshots',
      'commands',
      'alerts',
      'runtime_state',
      'proposals',
      'data_events',
    ]) {
      expect(tables).toContain(t);
    }
    const applied = (j.sqlite.prepare('select count(*) n from __drizzle_migrations').get() as { n: number }).n;
    expect(applied).toBe(readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).length);
    j.close();
    const again = new Journal({ path });
    expect((again.sqlite.prepare('select count(*) n from __drizzle_migrations').get() as { n: number }).n).toBe(applied);
    again.close();
  });

  it('round-trips orders with their event history', () => {
    const path = tmp();
    const j = new Journal({ path });
    const o = order(j.nextClientOrderId('sk-', 1000));
    expect(o.clientOrderId).toBe('sk-000001');
    j.insertOrder(o, 'paper');
    o.status = 'submitted';
    j.updateOrder(o, 'new');
    o.status = 'open';
    o.exchangeOrderId = 'P1';
    j.updateOrder(o, 'submitted');
    j.close();
    const j2 = new Journal({ path });
    const back = j2.getOrder(o.clientOrderId)!;
    expect(back).toMatchObject({
      clientOrderId: 'sk-000001',
      status: 'open',
      exchangeOrderId: 'P1',
      qty: 0.5,
      price: 100,
      stopLoss: 95,
      purpose: 'entry',
    });
    expect(j2.liveOrders().map((x) => x.clientOrderId)).toEqual(['sk-000001']);
    expect(j2.orderEvents(o.clientOrderId).map((e) => e.toStatus)).toEqual(['new', 'submitted', 'open']);
    // The client order id sequence continues after a restart: never reused.
    expect(j2.nextClientOrderId('sk-', 3000)).toBe('sk-000002');
    j2.close();
  });

  it('records a fill once per venue trade id', () => {
    const j = Journal.memory();
    expect(j.recordFill('paper', fill('T1'), 0, -50.05)).toBe(true);
    expect(j.recordFill('paper', fill('T1'), 0, -50.05)).toBe(false);
    expect(j.recordFill('binance', fill('T1'), 0, -50.05)).toBe(true);
    expect(j.fills()).toHaveLength(2);
    expect(j.cashFlows()).toMatchObject({ fills: -100.1, count: 2 });
    expect(j.lastFillTs('paper')).toBe(2000);
  });

  it('round-trips positions, decisions, runtime state, equity and audit rows', () => {
    const j = Journal.memory();
    const id = j.openPosition({
      symbol: 'BTC/USDT',
      side: 'long',
      qty: 1,
      entryPrice: 100,
      leverage: 1,
      margin: 100,
      realizedPnl: 0,
      fees: 0.1,
      openedAt: 10,
      markPrice: 100,
      unrealizedPnl: 0,
    });
    expect(j.openPositions()).toHaveLength(1);
    j.closePosition(
      id,
      {
        symbol: 'BTC/USDT',
        side: 'long',
        qty: 0,
        entryPrice: 100,
        leverage: 1,
        margin: 0,
        realizedPnl: 5,
        fees: 0.2,
        openedAt: 10,
        markPrice: 105,
        unrealizedPnl: 0,
      },
      105,
      20,
      'take_profit',
    );
    expect(j.openPositions()).toHaveLength(0);
    expect(j.closedPositions()[0]).toMatchObject({ exitPrice: 105, realizedPnl: 5, closedAt: 20, exitReason: 'take_profit' });

    const sig: Signal = {
      symbol: 'BTC/USDT',
      action: 'enter_long',
      ts: 5,
      price: 100,
      strategy: 'sma-cross',
      reason: 'x',
      features: { a: 1 },
    };
    const did = j.recordDecision(sig, { action: 'resize', qty: 0.5, rule: 'max_capital_in_use', reason: 'too big' }, 1);
    expect(j.getDecision(did)).toMatchObject({ verdict: 'resize', verdictRule: 'max_capital_in_use', finalQty: 0.5, features: { a: 1 } });

    j.setState('risk', { paused: true }, 1);
    expect(j.getState('risk', null)).toEqual({ paused: true });
    expect(j.getState('nope', 42)).toBe(42);

    j.recordEquity(100, 1000, 900, 100, 50);
    j.recordEquity(200, 1010, 900, 110, 50);
    expect(j.equityBefore(200)?.equity).toBe(1000);

    j.recordCommand({ ts: 1, transport: 'console', userId: 'console', command: 'status', outcome: 'ok' });
    expect(j.recentCommands(5)[0]).toMatchObject({ command: 'status', outcome: 'ok' });
  });

  it('in `fills` detail (backtests) keeps fills but not per-order rows', () => {
    const j = Journal.memory('fills');
    j.insertOrder(order('bt-1'), 'paper');
    expect(j.count('orders')).toBe(0);
    expect(j.recordFill('paper', fill('T1'), 0, 0)).toBe(true);
    expect(j.count('fills')).toBe(1);
  });
});
