// A trader's /cancel SIGKILLed before the venue answered, against the fake Binance (spot) with the real
// ccxt in a child `skipper run` steered from its console. The cancel is journaled ("cancel asked: …")
// before the request leaves; after the restart the order is cancelled at the venue either way, and its
// journal row says who cancelled it, not the venue's words.
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeBinance } from '../fakes/exchange/binance.ts';
import { spawnConsoleBot, type ConsoleChild } from '../helpers/console-child.ts';
import { until } from '../helpers/venue-time.ts';
import { consoleLiveBot, liveChildSetup } from '../helpers/live-child.ts';

const children: ConsoleChild[] = [];
const fakes: FakeBinance[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill9();
  for (const f of fakes.splice(0)) await f.close();
});

describe('a /cancel killed before the venue answered', () => {
  for (const held of ['hang', 'acceptThenHang'] as const) {
    it(`${held === 'hang' ? 'never processed: sent again at start-up' : 'processed, answer lost: read back at start-up'}; the row says who cancelled it`, async () => {
      const { dir, csv, fake } = await liveChildSetup({ prefix: 'skipper-cancel-crash-', candles: 20, seed: 3, volatility: 0.0005 });
      fakes.push(fake);
      const botCfg = consoleLiveBot({ dir, csv, venue: 'binance', type: 'spot', url: fake.url });
      const q = botCfg.query;
      const bot = spawnConsoleBot(botCfg.args, botCfg.env);
      children.push(bot);
      await bot.waitFor('replay finished', 90_000);
      bot.send('/buy BTC/USDT 0.01 25000'); // a limit far below the price: it rests
      await bot.confirm();
      const resting = () => fake.book.working().filter((o) => o.kind === 'limit' && o.side === 'BUY');
      await until(() => resting().length === 1, 'the limit buy at the venue', 60_000);
      const coid = resting()[0]!.coid;

      fake.inject({ kind: held, method: 'DELETE', path: '/api/v3/order' });
      bot.send(`/cancel ${coid}`);
      await until(() => fake.find('/api/v3/order', 'DELETE').length > 0, 'the cancel at the venue', 60_000);
      await bot.kill9();
      expect(resting().length).toBe(held === 'hang' ? 1 : 0);
      expect(q<{ status: string }>(`select status from orders where client_order_id = '${coid}'`)).toEqual([{ status: 'open' }]);

      const again = spawnConsoleBot(botCfg.args, botCfg.env);
      children.push(again);
      await again.waitFor('Type /help for commands', 90_000);
      const row = () => q<{ status: string; reason: string }>(`select status, reason from orders where client_order_id = '${coid}'`)[0]!;
      await until(() => row().status === 'cancelled', 'the order cancelled in the journal', 60_000);
      expect(resting()).toEqual([]);
      expect(row().reason).toBe('cancelled by console');
      const summary = q<{ summary: string }>(`select summary from reconciliations order by id desc limit 1`)[0]!.summary;
      if (held === 'hang')
        expect(summary).toContain(`cancel of ${coid} asked for before the restart and not carried out by the venue: sent again`);
      await again.stop();
    }, 240_000);
  }
});
