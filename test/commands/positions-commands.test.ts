// /close <id|symbol> [part], /sl, /tp, /trail and the kill switch's /resume from chat: every bad
// argument gets a clear refusal and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatUser, feedCandle, startBot, type Harness } from '../helpers/harness.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { Reply } from '../../src/chat/types.ts';
import { tradeId, tradeSettings } from '../../src/engine/trades.ts';
import { KILL_SWITCH } from '../../src/engine/drawdown-guard.ts';

const QUIET: ConfigInput = {
  strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
  risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0 },
};
const SYM = 'BTC/USDT';
const trader = chatUser('trader');
const admin = chatUser('admin');
let h: Harness;

const send = async (text: string, user = trader): Promise<Reply> => {
  const r = await h.bot.dispatcher.handleText(user, text);
  if (!r) throw new Error(`no reply to ${text}`);
  return r;
};
const confirmed = async (text: string, user = trader): Promise<Reply> => {
  const ask = await send(text, user);
  expect(ask.title, ask.text).toBe('Please confirm');
  const b = ask.buttons!.flat().find((x) => x.label === 'Confirm')!;
  const res = await h.bot.dispatcher.handleButton(user, b.data);
  return res.edit!;
};
const nextCandle = (move = 0): void => feedCandle(h, SYM, move);
const snapshot = () => ({
  orders: h.bot.journal.count('orders'),
  live: [...h.bot.engine.liveOrders.values()].map((o) => `${o.clientOrderId}:${o.status}:${o.stopPrice ?? o.price}`),
  positions: h.bot.engine.status().positions.map((p) => `${p.qty}:${p.stopLoss}:${p.takeProfit}`),
});

beforeAll(async () => {
  h = await startBot({ candles: 300, config: QUIET });
  await confirmed(`/buy ${SYM} 0.02`);
  nextCandle();
  nextCandle();
});
afterAll(async () => {
  await h.stop();
});

describe('position commands', () => {
  it('/positions shows the trade id', async () => {
    const pos = h.bot.engine.portfolio.positions.get(SYM)!;
    const r = await send('/positions');
    expect(r.text).toMatch(/^id\s+symbol/);
    expect(r.text).toContain(tradeId(pos));
  });

  it('bad arguments: a clear refusal each, nothing changed', async () => {
    const id = tradeId(h.bot.engine.portfolio.positions.get(SYM)!);
    const last = h.bot.engine.lastPrice(SYM);
    const before = snapshot();
    const cases: Array<[string, RegExp]> = [
      ['/sl T999 -2%', /No open trade T999/],
      [`/sl ${id} ${Math.round(last * 1.05)}`, /stop-loss for a long must be below the last price/],
      [`/sl ${id} +2%`, /must be below the last price/],
      [`/sl ${id} 0%`, /above 0% and below 100%/],
      [`/sl ${id} 150%`, /above 0% and below 100%/],
      [`/tp ${id} ${Math.round(last * 0.95)}`, /take-profit for a long must be above/],
      [`/trail ${id} 0%`, /the trail must be at least 0.001 and at most 0.5 \(0.1%–50%\)/],
      [`/trail ${id} 150%`, /the trail must be at least 0.001 and at most 0.5 \(0.1%–50%\)/],
      ['/trail T999 1%', /No open trade T999/],
      [`/close ${id} 0`, /greater than 0/],
      [`/close ${id} 150%`, /at most 100%/],
      ['/close T999', /No open trade T999/],
      ['/close DOGE/USDT', /not traded/],
    ];
    for (const [text, want] of cases) {
      const r = await send(text);
      expect(r.title, text).not.toBe('Please confirm');
      expect(r.text, text).toMatch(want);
    }
    expect(snapshot()).toEqual(before);
  });

  it('/sl and /tp move the protection (confirmed); /trail sets the trade trail', async () => {
    const pos = h.bot.engine.portfolio.positions.get(SYM)!;
    const id = tradeId(pos);
    // The prompt says how far the level is from the market: a typo ("1" for "1%") shows at once.
    const typo = await send(`/sl ${id} 1`);
    expect(typo.text).toMatch(/ to 1\.00 \(99\.99% below the last price [\d,.]+\)\?/);
    const ask = await send(`/sl ${id} -1%`);
    expect(ask.text).toMatch(/ \(1% below the last price [\d,.]+\)\?/);
    const done = await confirmed(`/sl ${id} -1%`);
    const stops = [...h.bot.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
    expect(stops).toHaveLength(1);
    // Spot: the order of the swap as protection.ts does it, and the new order's id (not the old one's).
    expect(done.text).toBe(
      `The stop-loss of trade ${id} (BTC/USDT) is now ${done.title!.split(' ').at(-1)}: order ${stops[0]!.clientOrderId} (open). ` +
        'The new order is journaled first, then the old one is cancelled (it holds the coins) and the new one placed.',
    );
    expect(pos.stopLoss).toBeCloseTo(h.bot.engine.lastPrice(SYM) * 0.99, 6);
    nextCandle();
    expect(stops[0]!.stopPrice).toBeCloseTo(pos.stopLoss!, 6);
    const tp = await confirmed(`/tp ${id} +3%`);
    expect(pos.takeProfit).toBeGreaterThan(h.bot.engine.lastPrice(SYM));
    // Spot: the stop holds the coins; no take-profit order goes to the venue.
    expect(tp.text).toMatch(
      /is now [\d,.]+\. On spot the stop-loss order holds the coins at the venue, so the bot watches the take-profit/,
    );
    expect([...h.bot.engine.liveOrders.values()].filter((o) => o.purpose === 'take_profit')).toEqual([]);
    await confirmed(`/trail ${id} 1.5%`);
    expect(tradeSettings(h.bot.journal, pos.id)).toEqual({ trailingStopPct: 0.015 });
  });

  it('/close <id> 50% closes half; the stop covers the rest', async () => {
    const pos = h.bot.engine.portfolio.positions.get(SYM)!;
    const ask = await send(`/close ${tradeId(pos)} 50%`);
    expect(ask.text).toMatch(/Close 0\.01 of the long 0\.02 BTC\/USDT position at market\?/);
    const done = await confirmed(`/close ${tradeId(pos)} 50%`);
    // On a finished replay the close fills at once: the reply still says what stays, not 0.
    expect(done.text).toMatch(
      /^SELL 0\.01 BTC\/USDT at market: order sk-\w+ \(\w+\)\. 0\.01 stays open; its stop and take-profit are resized to it\./,
    );
    nextCandle();
    nextCandle();
    expect(h.bot.engine.portfolio.positions.get(SYM)!.qty).toBeCloseTo(0.01, 8);
    const stops = [...h.bot.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
    expect(stops.map((o) => o.qty)).toEqual([0.01]);
  });

  it('/close <id> (all) with a resting limit exit for part: the limit is cancelled and the close takes all of it', async () => {
    const pos = h.bot.engine.portfolio.positions.get(SYM)!;
    await confirmed(`/sell ${SYM} 0.004 ${Math.round(h.bot.engine.lastPrice(SYM) * 1.05)}`);
    nextCandle();
    const limit = [...h.bot.engine.liveOrders.values()].find((o) => o.type === 'limit' && o.purpose === 'manual')!;
    const ask = await send(`/close ${tradeId(pos)}`);
    expect(ask.text).toContain(`Trade ${tradeId(pos)}. Your working exit ${limit.clientOrderId} would be cancelled.`);
    const done = await confirmed(`/close ${tradeId(pos)}`);
    expect(done.text).toMatch(
      new RegExp(
        `^SELL 0\\.01 BTC/USDT at market: order sk-\\w+ \\(\\w+\\)\\. Your working exit ${limit.clientOrderId} is cancelled: this close replaces it\\.`,
      ),
    );
    nextCandle();
    expect(h.bot.engine.portfolio.positions.has(SYM)).toBe(false);
    expect(h.bot.journal.getOrder(limit.clientOrderId)!.status).toBe('cancelled');
    expect([...h.bot.engine.liveOrders.values()]).toEqual([]);
    // A position for the tests after this one.
    await confirmed(`/buy ${SYM} 0.02`);
    nextCandle();
  });

  it('Confirm does what the question said: a relative level and a trade named by its symbol are pinned when asked', async () => {
    const ask = async (text: string) => {
      const r = await send(text);
      expect(r.title, r.text).toBe('Please confirm');
      const b = r.buttons!.flat().find((x) => x.label === 'Confirm')!;
      return { text: r.text, press: async () => (await h.bot.dispatcher.handleButton(trader, b.data)).edit! };
    };
    const first = h.bot.engine.portfolio.positions.get(SYM)!;
    const asked = h.bot.engine.lastPrice(SYM) * 0.98;
    const sl = await ask(`/sl ${SYM} -2%`);
    nextCandle(0.03); // the market moves 3% before the trader presses Confirm
    await sl.press();
    expect(first.stopLoss).toBeCloseTo(asked, 6); // the price the question showed, not 2% below the new last price
    // The trade the question named closes and another opens on the symbol: Confirm does not close the new one.
    const close = await ask(`/close ${SYM}`);
    expect(close.text).toContain(`Trade ${tradeId(first)}.`);
    await confirmed(`/close ${tradeId(first)}`);
    nextCandle();
    await confirmed(`/buy ${SYM} 0.02`);
    nextCandle();
    const second = h.bot.engine.portfolio.positions.get(SYM)!;
    expect(tradeId(second)).not.toBe(tradeId(first));
    expect((await close.press()).text).toContain(`No open trade ${tradeId(first)}`);
    nextCandle();
    expect(h.bot.engine.portfolio.positions.get(SYM)?.qty).toBeCloseTo(0.02, 8);
  });

  it('the kill switch: a trader may not /resume it; an admin re-arms it with a confirmation', async () => {
    h.bot.engine.risk.tripBreaker(`${KILL_SWITCH}: test`, Date.now());
    const r = await send('/resume');
    expect(r.text).toMatch(/only an admin may re-arm the total drawdown kill switch/);
    expect(h.bot.engine.risk.state().breakerTripped).toBe(true);
    const done = await confirmed('/resume', admin);
    expect(done.text).toMatch(/Resumed/);
    expect(h.bot.engine.risk.state().breakerTripped).toBe(false);
  });
});
