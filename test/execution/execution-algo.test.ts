// TWAP and iceberg parents on the paper venue, driven from chat: children with derived ids, journaled
// before they are sent, on the engine's (candle) clock; /orders, /cancel <parent>, /pause, /flatten; restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatUser, startBot, tempDir, type Harness } from '../helpers/harness.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { Clock } from '../../src/core/clock.ts';
import type { SimClock } from '../../src/core/clock.ts';
import type { Reply } from '../../src/chat/types.ts';
import { childOrderId } from '../../src/journal/parents.ts';

const QUIET: ConfigInput = {
  strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
  risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, stopLossPct: 0.05 },
};
const SYM = 'BTC/USDT';
const trader = chatUser('trader');
const viewer = chatUser('viewer');
const admin = chatUser('admin');

class FakeWall implements Clock {
  t = Date.UTC(2030, 0, 1);
  now(): number {
    return this.t;
  }
}

async function send(h: Harness, text: string, user = trader): Promise<Reply> {
  const r = await h.bot.dispatcher.handleText(user, text);
  if (!r) throw new Error(`no reply to ${text}`);
  return r;
}
async function confirmed(h: Harness, text: string, user = trader): Promise<Reply> {
  const ask = await send(h, text, user);
  expect(ask.title, ask.text).toBe('Please confirm');
  const b = ask.buttons?.flat().find((x) => x.label === 'Confirm');
  const res = await h.bot.dispatcher.handleButton(user, b!.data);
  if (!res.edit) throw new Error(`no edit after confirm: ${res.toast ?? ''}`);
  return res.edit;
}
/** One more flat 1m candle after the replay: the candle clock moves a minute and the paper venue fills. */
function nextCandle(h: Harness): void {
  const last = h.bot.engine.status().lastCandle[SYM]!;
  const ts = last.ts + 60_000;
  (h.bot.clock as SimClock).set(ts + 60_000);
  h.bot.engine.onCandle(SYM, {
    ts,
    open: last.close,
    high: last.close * 1.0001,
    low: last.close * 0.9999,
    close: last.close,
    volume: 1000,
  });
}
const parentIdOf = (r: Reply): string => {
  const id = /as (\S+) —/.exec(r.text)?.[1];
  if (!id) throw new Error(`no parent id in: ${r.text}`);
  return id;
};
const childrenOf = (h: Harness, id: string) => h.bot.algos.parents.children(id);
const snapshot = (h: Harness) => ({
  orders: h.bot.journal.count('orders'),
  decisions: h.bot.journal.count('decisions'),
  parents: h.bot.algos.parents.recent(100).length,
  live: h.bot.engine.liveOrders.size,
});

describe('TWAP on the paper venue', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startBot({ candles: 300, config: QUIET, bot: { wallClock: new FakeWall() } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('/buy … twap 10m: 5 children, one every 2 min of candle time, ids <parent>-n, protection sized to the fills', async () => {
    const done = await confirmed(h, `/buy ${SYM} 2% twap 10m`);
    expect(done.text).toMatch(/TWAP: 5 market slices, one every 2 min/);
    const id = parentIdOf(done);
    const p = h.bot.algos.parents.get(id)!;
    expect(p).toMatchObject({ algo: 'twap', slices: 5, intervalMs: 120_000, status: 'active', sent: 1 });
    const total = p.totalQty;
    expect(childrenOf(h, id).map((o) => o.clientOrderId)).toEqual([childOrderId(id, 1)]);

    nextCandle(h); // +1 min: not due yet
    expect(childrenOf(h, id)).toHaveLength(1);
    const pos1 = h.bot.engine.portfolio.positions.get(SYM)!;
    expect(pos1.qty).toBeCloseTo(childrenOf(h, id)[0]!.filledQty, 12);
    // The stop covers what has filled so far, not the whole parent.
    const stop1 = [...h.bot.engine.liveOrders.values()].find((o) => o.purpose === 'stop_loss');
    expect(stop1?.qty).toBeCloseTo(pos1.qty, 12);

    const orders = await send(h, '/orders', viewer);
    expect(orders.text).toMatch(new RegExp(`${id}\\s+BTC/USDT\\s+buy\\s+twap\\s+\\S+/\\S+\\s+1/5\\s+\\d{4}-`));
    expect(orders.text).toMatch(new RegExp(`${id} .* ${p.createdBy}$`, 'm')); // who started it

    for (let i = 0; i < 8; i++) nextCandle(h);
    const kids = childrenOf(h, id);
    expect(kids.map((o) => o.clientOrderId)).toEqual([1, 2, 3, 4, 5].map((n) => childOrderId(id, n)));
    // 2 min apart on the candle clock.
    expect(kids[1]!.createdAt - kids[0]!.createdAt).toBe(120_000);
    expect(kids.every((o) => o.status === 'filled')).toBe(true);
    expect(kids.reduce((t, o) => t + o.filledQty, 0)).toBeCloseTo(total, 10);
    expect(h.bot.algos.parents.get(id)).toMatchObject({ status: 'done', sent: 5 });
    const pos = h.bot.engine.portfolio.positions.get(SYM)!;
    const stop = [...h.bot.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
    expect(stop.reduce((t, o) => t + (o.qty ?? 0), 0)).toBeCloseTo(pos.qty, 10);
    // Each child went through the risk engine: one decision per child.
    const decided = h.bot.journal.recentDecisions(20).filter((d) => d.clientOrderId?.startsWith(`${id}-`));
    expect(decided).toHaveLength(5);
    await confirmed(h, `/close ${SYM}`);
    nextCandle(h);
  });

  it('/cancel <parent> stops the remaining children; /pause and /flatten stop them too', async () => {
    const a = parentIdOf(await confirmed(h, `/buy ${SYM} 1% twap 1h`));
    nextCandle(h);
    const c = await send(h, `/cancel ${a.toUpperCase()}`);
    expect(c.title).toBe('Cancelled');
    expect(c.text).toMatch(/1 of 5 were sent/);
    for (let i = 0; i < 30; i++) nextCandle(h);
    expect(childrenOf(h, a)).toHaveLength(1);
    expect(h.bot.algos.parents.get(a)?.status).toBe('cancelled');
    expect((await send(h, `/cancel ${a}`)).text).toMatch(/already cancelled/);

    const b = parentIdOf(await confirmed(h, `/buy ${SYM} 1% twap 10m`));
    await send(h, '/pause');
    for (let i = 0; i < 15; i++) nextCandle(h);
    expect(childrenOf(h, b)).toHaveLength(1);
    expect(h.bot.algos.parents.get(b)).toMatchObject({ status: 'stopped', reason: expect.stringMatching(/paused by/) });
    await send(h, '/resume');

    const f = parentIdOf(await confirmed(h, `/buy ${SYM} 1% twap 10m`));
    await confirmed(h, '/flatten', admin);
    for (let i = 0; i < 15; i++) nextCandle(h);
    expect(childrenOf(h, f)).toHaveLength(1);
    expect(h.bot.algos.parents.get(f)).toMatchObject({ status: 'stopped', reason: expect.stringMatching(/flatten by/) });
    expect(h.bot.engine.portfolio.positions.get(SYM)).toBeUndefined();
  });

  it('iceberg: limit clips of visibleQty, the next once the previous is done', async () => {
    const px = h.bot.engine.lastPrice(SYM);
    const r = await confirmed(h, `/buy ${SYM} 0.03 iceberg`);
    const id = parentIdOf(r);
    const p = h.bot.algos.parents.get(id)!;
    expect(p.algo).toBe('iceberg');
    expect(p.slices).toBe(5);
    const first = childrenOf(h, id)[0]!;
    expect(first.type).toBe('limit');
    expect(first.price).toBeCloseTo(px, 0);
    for (let i = 0; i < 12; i++) nextCandle(h);
    const kids = childrenOf(h, id);
    expect(kids).toHaveLength(5);
    expect(kids.every((o) => o.type === 'limit' && o.status === 'filled')).toBe(true);
    expect(kids.reduce((t, o) => t + o.filledQty, 0)).toBeCloseTo(0.03, 10);
    await confirmed(h, `/close ${SYM}`);
    nextCandle(h);
  });

  it('bad /buy … twap arguments get a clear refusal and change nothing', async () => {
    const before = snapshot(h);
    const cases: Array<[string, RegExp]> = [
      [`/buy ${SYM} 0.01 twap soon`, /over: "soon" is not a duration/],
      [`/buy ${SYM} 0.01 twap 30d`, /over: at most/],
      [`/buy ${SYM} 0.01 100 twap`, /price: a twap order takes no price/],
      [`/buy ${SYM} 0.01 vwap`, /price: "vwap" is not a number/],
      [`/buy ${SYM} 0.01 100 vwap`, /algo: expected one of twap, iceberg/],
      [`/buy ${SYM} 150% twap`, /a percentage must be at most 100%/],
      [`/sell ${SYM} 0.01 twap 10m`, /spot is long-only/],
      // Slices the venue would refuse: said before asking, never started to stop at slice 1.
      [
        `/buy ${SYM} 0.0006 twap 10m`,
        /^BUY BTC\/USDT as TWAP: each of its 5 slices would be rejected: 0\.00012 BTC ≈ [\d.,]+ USDT is below the minimum order value 5\.00 USDT; use fewer slices \(execution\.slices\) or a plain order\nNothing was placed\.$/,
      ],
    ];
    for (const [cmd, want] of cases) {
      const r = await send(h, cmd);
      expect(r.title === 'Please confirm' ? 'prompt' : r.text, cmd).toMatch(want);
    }
    expect(snapshot(h)).toEqual(before);
  });

  it('a TWAP the risk check resizes says so, with the rule, as /buy does', async () => {
    const last = h.bot.engine.lastPrice(SYM);
    const asked = Number(((h.bot.engine.status().equity * 0.8) / last).toFixed(4)); // over the per-trade risk (2 %)
    const ask = await send(h, `/buy ${SYM} ${asked} twap 10m`);
    expect(ask.text).toMatch(
      /as TWAP over 10 min\? Each child order passes the risk checks\.\nRisk check now, of the whole: resized by max_loss_per_trade — /,
    );
    const done = await confirmed(h, `/buy ${SYM} ${asked} twap 10m`);
    const id = parentIdOf(done);
    const total = h.bot.algos.parents.get(id)!.totalQty;
    expect(total).toBeLessThan(asked);
    expect(done.text, done.text).toMatch(
      new RegExp(`^Risk: resized by max_loss_per_trade — ${asked} → ${total} BTC: the loss at the stop`, 'm'),
    );
    await send(h, `/cancel ${id}`);
    await confirmed(h, `/close ${SYM}`);
    nextCandle(h);
  });
});

describe('TWAP across a restart', () => {
  it('resumes the schedule where it stopped: no child twice, none lost (also after a crash between a child and its parent row)', async () => {
    const dir = tempDir();
    const wall = new FakeWall();
    const a = await startBot({ candles: 300, config: QUIET, dir, bot: { wallClock: wall } });
    const id = parentIdOf(await confirmed(a, `/buy ${SYM} 2% twap 10m`));
    for (let i = 0; i < 2; i++) nextCandle(a);
    expect(childrenOf(a, id)).toHaveLength(2);
    const total = a.bot.algos.parents.get(id)!.totalQty;
    // A crash after child 2 was journaled but before the parent row advanced.
    a.bot.journal.sqlite.prepare('update parent_orders set sent = 1 where id = ?').run(id);
    await a.stop();

    const b = await startBot({ candles: 300, config: QUIET, dir, bot: { wallClock: wall } });
    try {
      expect(b.bot.algos.parents.get(id)).toMatchObject({ status: 'active', sent: 1 });
      for (let i = 0; i < 12; i++) nextCandle(b);
      const kids = childrenOf(b, id);
      expect(kids.map((o) => o.clientOrderId)).toEqual([1, 2, 3, 4, 5].map((n) => childOrderId(id, n)));
      expect(new Set(kids.map((o) => o.clientOrderId)).size).toBe(5);
      expect(kids.reduce((t, o) => t + o.filledQty, 0)).toBeCloseTo(total, 10);
      expect(b.bot.algos.parents.get(id)?.status).toBe('done');
    } finally {
      await b.stop();
    }
  });
});
