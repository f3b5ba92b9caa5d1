// /cancel of a parent whose exit child is held back (journaled, waiting on spot for the stop's cancel, which
// holds the coins): the child is dropped, never sent; the position keeps its stop. It used to go out after
// the parent was cancelled and sell. Real ccxt against the fake Bybit, cancels slowed. Found by a trial.
import { afterAll, describe, expect, it } from 'vitest';
import { ask as reply, bybitBot } from '../helpers/bybit-bot.ts';
import { chatUser } from '../helpers/harness.ts';
import { until } from '../helpers/venue-time.ts';

const SYM = 'BTC/USDT';
const trader = chatUser('trader');
const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('/cancel of a TWAP parent whose child is held', () => {
  it('drops the held child (never at the venue) and the position gets its stop back', async () => {
    const { h, fake, close } = await bybitBot({
      type: 'spot',
      prefix: 'algo-cancel-held-',
      candles: 60,
      seed: 3,
      volatility: 0.0005,
      config: {
        data: { speed: 'max' },
        strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
        execution: { slices: 4 },
        risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, maxConsecutiveErrors: 0, stopLossPct: 0.05 },
      },
    });
    cleanup.push(close);
    const send = (text: string) => reply(h, trader, text);
    const confirm = async (text: string) => {
      const a = await send(text);
      if (a.title !== 'Please confirm') return a;
      return (await h.bot.dispatcher.handleButton(trader, a.buttons!.flat().find((b) => b.label === 'Confirm')!.data)).edit!;
    };
    const stops = () => [...h.bot.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss' && o.status === 'open');
    await confirm(`/buy ${SYM} 0.008`);
    await until(() => stops().length === 1, 'the entry stop', 15_000);
    const qty = h.bot.engine.portfolio.positions.get(SYM)!.qty;
    fake.inject({ kind: 'delay', method: 'POST', path: '/v5/order/cancel', ms: 1500, times: 1 } as never);
    const started = await confirm(`/sell ${SYM} 0.006 twap 1m`);
    const id = /as (\S+) —/.exec(started.text)![1]!;
    const child = h.bot.engine.liveOrders.get(`${id}-1`)!;
    expect(child.status).toBe('new'); // held: waiting for the stop's cancel

    const c = await send(`/cancel ${id}`);
    expect(c.text).toContain('cancel');
    expect(h.bot.journal.getOrder(`${id}-1`)!.status).toBe('cancelled');
    // The stop's cancel comes back; the position, untouched, gets a stop for the whole again.
    await until(() => stops().some((o) => o.qty === qty), 'the stop placed again', 15_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(fake.sentClientOrderIds().filter((x) => x.startsWith(`${id}-`))).toEqual([]);
    expect(h.bot.engine.portfolio.positions.get(SYM)!.qty).toBe(qty);
    expect(h.bot.algos!.parents.get(id)!.status).toBe('cancelled');
  }, 120_000);
});
