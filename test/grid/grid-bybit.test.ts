// The grid on the fake Bybit (spot) with the real ccxt: the live bot rests limit orders at the levels
// (orderLinkIds derived from the level pair), the venue's price swings through them and fills them, each
// fill is replaced by its opposite; the venue never holds two working orders for one level pair, no id
// reaches it twice, and the journal ends equal to the venue.
import { afterAll, describe, expect, it } from 'vitest';
import { ask, bybitBot } from '../helpers/bybit-bot.ts';
import { chatUser } from '../helpers/harness.ts';
import { until } from '../helpers/venue-time.ts';

const PAIR = /^sk-g\w+-(\d+)-(\d+)$/;
const viewer = chatUser('viewer');
const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A live grid bot (levels 29,600…30,400) on the fake Bybit spot, its candles replayed at `speed`. */
function gridBot(o: { prefix: string; candles: number; seed: number; volatility: number; speed: number }) {
  const { speed, ...rest } = o;
  return bybitBot({
    type: 'spot',
    ...rest,
    config: {
      data: { speed },
      strategy: { name: 'grid', params: { lower: 29_600, upper: 30_400, levels: 9, qtyPerLevel: 0.001 } } as never,
      risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, maxConsecutiveErrors: 0, maxDailyDrawdown: 1 },
    },
    waitForReplay: false,
  });
}

describe('grid on the fake Bybit (spot, real ccxt)', () => {
  it('level orders fill at the venue and are replaced by their opposites: one working order per level pair, no id twice, journal = venue', async () => {
    // a candle every 0.2 s: the grid books fills and places their opposites at each candle
    const { h, fake, close } = await gridBot({ prefix: 'skipper-grid-bybit-', candles: 900, seed: 5, volatility: 0.0003, speed: 300 });
    cleanup.push(close);

    // The venue's price swings 29 550 ↔ 30 450 through the levels; every 50 ms the book is checked.
    let t = 0;
    const problems: string[] = [];
    const swing = setInterval(() => {
      t++;
      fake.setPrice('BTCUSDT', 30_000 + 450 * Math.sin(t / 12));
      const pairs = fake.book
        .working('BTCUSDT')
        .map((o) => PAIR.exec(o.coid)?.[1])
        .filter((p): p is string => p !== undefined);
      const twice = pairs.filter((p, i) => pairs.indexOf(p) !== i);
      if (twice.length > 0) problems.push(`pair ${twice.join(',')} has two working orders`);
    }, 50);
    cleanup.push(() => clearInterval(swing));

    const sellsFilled = () =>
      fake.sentClientOrderIds().filter((id) => PAIR.test(id) && fake.order(id)?.side === 'SELL' && fake.order(id)?.status === 'FILLED');
    await until(() => sellsFilled().length >= 2, 'two level sells filled at the venue (bought lower, sold one level up)', 60_000);
    clearInterval(swing);
    // Let the last fills and acknowledgements be heard, then compare the journal with the venue.
    const settled = () =>
      fake.sentClientOrderIds().every((id) => {
        const v = fake.order(id);
        const j = h.bot.journal.getOrder(id);
        return v === undefined || (j !== null && j !== undefined && (v.status === 'NEW') === (j.status === 'open'));
      });
    await until(settled, 'the journal caught up with the venue', 20_000);

    expect(problems).toEqual([]);
    // The grid's orders carry no stop: no stop-loss rests at the venue holding the coins its sells need.
    expect(fake.sentClientOrderIds().filter((id) => !PAIR.test(id))).toEqual([]);
    const sent = fake.sentClientOrderIds().filter((id) => PAIR.test(id));
    expect(sent.filter((id, i) => sent.indexOf(id) !== i)).toEqual([]);
    const status = {
      NEW: 'open',
      PARTIALLY_FILLED: 'partially_filled',
      FILLED: 'filled',
      CANCELED: 'cancelled',
      REJECTED: 'rejected',
    } as const;
    for (const id of sent) {
      const v = fake.order(id);
      const j = h.bot.journal.getOrder(id)?.status;
      // Refused by the venue (never booked): closed out in the journal, never left working.
      if (!v) expect(`${id} ${j}`).toMatch(/ (rejected|cancelled)$/);
      else expect(`${id} ${j}`).toBe(`${id} ${status[v.status as keyof typeof status]}`);
    }
    const grid = await ask(h, viewer, '/grid');
    expect(grid.text).toMatch(/profit/i);
    const rec = await h.bot.reconciler.run('test');
    expect(rec, rec.summary).toMatchObject({ status: 'ok', problems: [] });
  }, 120_000);

  it('a level filled between two candles is replaced by its opposite at once, not at the next close', async () => {
    // a candle every 30 s: the fill below lands between two
    const { h, fake, close } = await gridBot({
      prefix: 'skipper-grid-bybit-between-',
      candles: 50,
      seed: 6,
      volatility: 0.00001,
      speed: 2,
    });
    cleanup.push(close);
    const working = () => fake.book.working('BTCUSDT').map((o) => ({ id: o.coid, side: fake.order(o.coid)?.side }));
    await until(() => working().some((o) => o.side === 'BUY'), 'the grid rests its level buys', 20_000);
    const candles = h.bot.engine.candleCounts('BTC/USDT').accepted;
    const buy = working()
      .filter((o) => o.side === 'BUY')
      .sort((a, b) => b.id.localeCompare(a.id))[0]!;
    const [, k, gen] = PAIR.exec(buy.id)!;
    fake.setPrice('BTCUSDT', 29_850); // through the nearest buy level (29,900)
    const opposite = new RegExp(`-${k}-${Number(gen) + 1}$`);
    await until(() => working().some((o) => opposite.test(o.id) && o.side === 'SELL'), `the sell one level above ${buy.id}`, 10_000);
    expect(h.bot.engine.candleCounts('BTC/USDT').accepted).toBe(candles);
    expect(h.bot.journal.getOrder(buy.id)?.status).toBe('filled');
  }, 60_000);
});
