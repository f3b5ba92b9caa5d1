// A stop edit (/sl) SIGKILLed between the journal write of the new stop and the cancel of the old one,
// against the fake Binance (spot) with the real ccxt in a child `skipper run` steered from its console.
// The cancel is held at the venue (not processed, or processed without an answer) and the bot is killed
// there. After the restart and its reconciliation the position has exactly one live stop, at the new
// price: never none, never two at once on the venue (checked all along), so never both filled.
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeBinance } from '../fakes/exchange/binance.ts';
import { spawnConsoleBot, type ConsoleChild } from '../helpers/console-child.ts';
import { until } from '../helpers/venue-time.ts';
import { consoleBotWithTrade, consoleLiveBot, liveChildSetup } from '../helpers/live-child.ts';

const children: ConsoleChild[] = [];
const fakes: FakeBinance[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill9();
  for (const f of fakes.splice(0)) await f.close();
});

const wait = (cond: () => boolean, what: string, ms = 60_000): Promise<void> => until(cond, what, ms);

describe('a stop edit killed between the journal write and the cancel', () => {
  for (const held of ['hang', 'acceptThenHang'] as const) {
    it(`cancel ${held === 'hang' ? 'never processed' : 'processed, answer lost'}: one stop at the new price after the restart`, async () => {
      const { dir, csv, fake } = await liveChildSetup({ prefix: 'skipper-sl-crash-', candles: 20, seed: 3, volatility: 0.0005 });
      fakes.push(fake);
      const botCfg = consoleLiveBot({ dir, csv, venue: 'binance', type: 'spot', url: fake.url });
      const q = botCfg.query;
      const venueStops = () => fake.book.working().filter((o) => o.kind === 'stop_market');
      let most = 0;
      const watch = setInterval(() => (most = Math.max(most, venueStops().length)), 5);
      try {
        const { bot, tradeId } = await consoleBotWithTrade(botCfg, () => venueStops().length, children);
        const [old] = venueStops();
        expect(old!.stopPrice).toBeGreaterThan(29_000); // 2% below the last close

        fake.inject({ kind: held, method: 'DELETE', path: '/api/v3/order' });
        bot.mark();
        bot.send(`/sl T${tradeId} 28500`);
        await bot.confirm();
        await wait(() => fake.find('/api/v3/order', 'DELETE').length > 0, 'the cancel of the old stop at the venue');
        // The new stop is journaled (not sent: on spot the old one holds the coins) before the cancel went out.
        const fresh = q<{ status: string; stop_price: number }>(
          `select status, stop_price from orders where purpose = 'stop_loss' and stop_price = 28500`,
        );
        expect(fresh).toEqual([{ status: 'new', stop_price: 28_500 }]);
        await bot.kill9();
        expect(venueStops().length).toBe(held === 'hang' ? 1 : 0);

        const again = spawnConsoleBot(botCfg.args, botCfg.env);
        children.push(again);
        await again.waitFor('Type /help for commands', 90_000);
        const live = () =>
          q<{ stop_price: number }>(
            `select stop_price from orders where purpose = 'stop_loss' and status in ('open', 'submitted', 'new', 'partially_filled')`,
          );
        await wait(() => venueStops().length === 1 && venueStops()[0]!.stopPrice === 28_500 && live().length === 1, 'one stop at 28500');
        await new Promise((r) => setTimeout(r, 1500)); // and it stays so
        expect(venueStops().map((o) => [o.stopPrice, o.qty])).toEqual([[28_500, 0.01]]);
        expect(live()).toEqual([{ stop_price: 28_500 }]);
        expect(q<{ n: number }>(`select count(*) n from positions where closed_at is null`)[0]!.n).toBe(1);
        expect(most).toBeLessThanOrEqual(1);
        await again.stop();
      } finally {
        clearInterval(watch);
      }
    }, 240_000);
  }
});
