// The grid strategy in the bot (paper replay) and in `skipper backtest --config`: /grid shows levels,
// open orders, fills and realized profit; /grid stop (admin, confirmed) cancels its orders; /orders lists them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { Candle } from '../../src/core/types.ts';
import { writeCandlesCsv } from '../../src/market/csv.ts';
import type { Reply } from '../../src/chat/types.ts';
import { runSkipper } from '../helpers/cli.ts';
import { chatUser, feedCandle, startBot, tempDir, type Harness } from '../helpers/harness.ts';

const MIN = 60_000;
const T0 = Date.UTC(2030, 0, 1);
const viewer = chatUser('viewer');
const admin = chatUser('admin');

/** 100 → 95.5 → 104.5 → … one 0.3 step a minute. */
function saw(n: number): Candle[] {
  const out: Candle[] = [];
  let p = 100;
  let dir = -1;
  for (let i = 0; i < n; i++) {
    let next = p + dir * 0.3;
    if (next <= 95.5 || next >= 104.5) dir = -dir;
    next = Math.min(104.5, Math.max(95.5, next));
    out.push({ ts: T0 + i * MIN, open: p, high: Math.max(p, next) + 0.05, low: Math.min(p, next) - 0.05, close: next, volume: 1000 });
    p = next;
  }
  return out;
}

const GRID: ConfigInput = {
  market: { symbols: ['BTC/USDT'], timeframe: '1m', type: 'spot' },
  strategy: { name: 'grid', params: { lower: 96, upper: 104, levels: 9, qtyPerLevel: 0.1, stopBelow: 90, spacing: 'arithmetic' } } as never,
  exchange: { paper: { startingBalance: { USDT: 10_000 } } },
  risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0 },
};

async function send(h: Harness, text: string, user = admin): Promise<Reply> {
  const r = await h.bot.dispatcher.handleText(user, text);
  if (!r) throw new Error(`no reply to ${text}`);
  return r;
}

describe('/grid in a paper replay', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('skipper-grid-bot-');
    const file = join(dir, 'saw.csv');
    await writeCandlesCsv(file, saw(500));
    h = await startBot({ dir, replayFile: file, config: GRID });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('/backtest runs the grid config (it was refused as an unknown strategy)', async () => {
    const r = await send(h, '/backtest 1');
    expect(r.title, r.text).toBe('Backtest');
    expect(r.text).toMatch(/^BTC\/USDT 1m, grid\n/);
  }, 60_000);

  it('shows each level with its open order, the fills and the realized grid profit (one number format)', async () => {
    const r = await send(h, '/grid', viewer);
    expect(r.text).toMatch(/^BTC\/USDT grid g\w+: ACTIVE/);
    expect(r.text).toMatch(/9 arithmetic levels 96\.00–104\.00, 0\.1 per level; stop-out below 90\.00/);
    expect(r.text).toMatch(/ {2}104\.00 {2}(—|sell 0\.1 open \S+)/);
    expect(r.text).toMatch(/ {2}\d+\.00 {2}buy 0\.1 open BTC|buy 0\.1 open \S+-g\w+-\d+-\d+/);
    const m = /fills (\d+), round trips (\d+); realized grid profit \+([\d.]+) USDT \(net of fees\)/.exec(r.text);
    expect(m, r.text).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(5);
    const orders = await send(h, '/orders', viewer);
    expect(orders.text).toMatch(/limit/);
  });

  it('/grid stop is for admins, asks first, cancels the grid orders and leaves the position; /grid start runs it again', async () => {
    const refused = await send(h, '/grid stop', viewer);
    expect(refused.text).toMatch(/admin/i);
    const working = () => [...h.bot.engine.liveOrders.values()].filter((o) => o.purpose === 'grid').length;
    const n = working();
    expect(n).toBeGreaterThan(0);
    const ask = await send(h, '/grid stop');
    expect(ask.title).toBe('Please confirm');
    expect(ask.text).toMatch(new RegExp(`cancel its ${n} orders\\? The position it holds stays open`));
    const b = ask.buttons!.flat().find((x) => x.label === 'Confirm')!;
    const done = (await h.bot.dispatcher.handleButton(admin, b.data)).edit!;
    expect(done.text).toMatch(new RegExp(`BTC/USDT grid stopped: ${n} orders cancelled`));
    expect(working()).toBe(0);
    expect((await send(h, '/grid', viewer)).text).toMatch(/: CANCELLED \(stopped by /);
    expect((await send(h, '/grid stop')).text).toMatch(/Nothing to stop: the BTC\/USDT grid is already cancelled/);
    expect((await send(h, '/grid bogus')).text).toMatch(/stop\|start/);
    const again = await send(h, '/grid start');
    const ok = (await h.bot.dispatcher.handleButton(admin, again.buttons!.flat().find((x) => x.label === 'Confirm')!.data)).edit!;
    expect(ok.text).toMatch(/BTC\/USDT grid g\w+ started/);
    expect((await send(h, '/grid', viewer)).text).toMatch(/: ACTIVE/);
  });
});

describe('skipper backtest --config with a grid', () => {
  it('runs the grid on the same engine and reports its fills', async () => {
    const dir = tempDir('skipper-grid-bt-');
    const csv = join(dir, 'saw.csv');
    await writeCandlesCsv(csv, saw(800));
    const config = join(dir, 'grid.yaml');
    writeFileSync(
      config,
      'market: { timeframe: 1m, symbols: [BTC/USDT] }\n' +
        'strategy: { name: grid, params: { lower: 96, upper: 104, levels: 9, spacing: geometric, quotePerLevel: 10 } }\n' +
        'risk: { maxConsecutiveLosses: 0 }\n',
    );
    const r = await runSkipper(['backtest', '--config', config, '--data', `BTC/USDT=${csv}`, '--json'], dir);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { fills: number; final_equity: number };
    expect(j.fills).toBeGreaterThan(20);
    expect(j.final_equity).toBeGreaterThan(10_000);
  }, 60_000);
});

describe('a grid with approvals on', () => {
  let h: Harness;
  afterAll(async () => {
    await h?.stop();
  });
  const gridOrders = () => [...h.bot.engine.liveOrders.values()].filter((o) => o.purpose === 'grid').length;

  it('is asked for once, as a whole: no level order until an admin approves it with /grid start', async () => {
    const dir = tempDir('skipper-grid-approve-');
    const file = join(dir, 'saw.csv');
    await writeCandlesCsv(file, saw(200));
    h = await startBot({ dir, replayFile: file, config: { ...GRID, approvals: { mode: 'always' } } });
    expect(gridOrders()).toBe(0);
    expect(h.bot.journal.count('orders')).toBe(0);
    const alert = h.bot.journal.recentAlerts(20).find((a) => a.title === 'Grid BTC/USDT waits for your approval');
    expect(alert?.message).toBe(
      'Approvals are on, so the grid places no order until an admin sends /grid start (it asks first): 9 levels 96.00–104.00, its buys commit up to 79.60 USDT.',
    );
    expect((await send(h, '/grid', viewer)).text).toMatch(/: STOPPED \(waiting for your approval: \/grid start places its orders\)/);
    const ask = await send(h, '/grid start');
    expect(ask.text).toMatch(
      /^Approve the BTC\/USDT grid \(9 levels 96\.00–104\.00\) and place its orders\? \(Its level orders are not asked for one by one\.\)\n/,
    );
    const ok = (await h.bot.dispatcher.handleButton(admin, ask.buttons!.flat().find((x) => x.label === 'Confirm')!.data)).edit!;
    expect(ok.text).toMatch(/BTC\/USDT grid g\w+ started/);
    feedCandle(h, 'BTC/USDT', 0.02); // into the range: buys rest below the price
    expect(gridOrders()).toBeGreaterThan(0);
    // Approvals set again while it runs: the grid was approved, and the reply says it keeps trading.
    expect((await send(h, '/approvals always')).text).toMatch(
      / The running BTC\/USDT grid keeps placing its level orders without asking \(a grid is approved once, when it starts\); \/grid stop stops it\.(\n|$)/,
    );
  });

  it('above a notional the grid does not reach: it starts by itself', async () => {
    await h.stop();
    const dir = tempDir('skipper-grid-above-');
    const file = join(dir, 'saw.csv');
    await writeCandlesCsv(file, saw(200));
    h = await startBot({ dir, replayFile: file, config: { ...GRID, approvals: { mode: 'above', aboveNotional: 1000 } } });
    expect((await send(h, '/grid', viewer)).text).toMatch(/: ACTIVE/);
    expect(gridOrders()).toBeGreaterThan(0);
  });
});
