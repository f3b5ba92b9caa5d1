// A native trailing stop (/trail on Binance USDⓈ-M: a TRAILING_STOP_MARKET order; on Bybit linear:
// the position's trailingStop) SIGKILLed between its journal write and the cancel of the fixed stop
// it replaces, against the fakes with the real ccxt in a child `skipper run` steered from its
// console. The cancel is held at the venue (not processed, or processed without an answer) and the
// bot is killed there. After the restart and its reconciliation the position has exactly one working
// protection, a native trailing stop: never none, and no stop ever filled (checked on the venue).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateCsv } from '../../src/market/generator.ts';
import { FakeBinance } from '../fakes/exchange/binance.ts';
import { FakeBybit } from '../fakes/exchange/bybit.ts';
import { spawnConsoleBot, type ConsoleChild } from '../helpers/console-child.ts';
import { until } from '../helpers/venue-time.ts';
import { tempDir } from '../helpers/harness.ts';
import { CHILD_KEY, CHILD_SECRET, consoleBotWithTrade, consoleLiveBot } from '../helpers/live-child.ts';

const children: ConsoleChild[] = [];
const fakes: Array<FakeBinance | FakeBybit> = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill9();
  for (const f of fakes.splice(0)) await f.close();
});

const wait = (cond: () => boolean, what: string, ms = 60_000): Promise<void> => until(cond, what, ms);

describe('a native trailing stop killed between its journal write and the cancel of the fixed stop', () => {
  for (const [venue, held] of [
    ['binance', 'hang'],
    ['binance', 'acceptThenHang'],
    ['bybit', 'hang'],
    ['bybit', 'acceptThenHang'],
  ] as const) {
    it(`${venue}: cancel ${held === 'hang' ? 'never processed' : 'processed, answer lost'}: one native trailing stop after the restart`, async () => {
      const dir = tempDir('skipper-trail-crash-');
      const csv = join(dir, 'candles.csv');
      await generateCsv(csv, 20, 3, { startPrice: 30_000, volatility: 0.0005 });
      // The venue trades at the replay's last close: the trail starts at once from there.
      const lastClose = Number(readFileSync(csv, 'utf8').trim().split('\n').at(-1)!.split(',')[4]);
      const opts = { type: 'perp' as const, balances: { USDT: 10_000 }, prices: { BTCUSDT: lastClose }, apiKey: CHILD_KEY };
      const fake =
        venue === 'binance' ? await new FakeBinance(opts).start() : await new FakeBybit({ ...opts, secret: CHILD_SECRET }).start();
      fakes.push(fake);
      const botCfg = consoleLiveBot({ dir, csv, venue, type: 'perp', url: fake.url });
      const q = botCfg.query;
      const venueStops = () => fake.book.working().filter((o) => o.kind === 'stop_market');
      const { bot, tradeId } = await consoleBotWithTrade(botCfg, () => venueStops().length, children);
      const cancelPath = venue === 'binance' ? '/fapi/v1/algoOrder' : '/v5/order/cancel';
      const cancelMethod = venue === 'binance' ? 'DELETE' : 'POST';
      /** The venue's native trailing stop: the order (Binance) or the position's attribute (Bybit). */
      const trailing = (): number =>
        fake instanceof FakeBinance ? venueStops().filter((o) => o.venueType === 'TRAILING_STOP_MARKET').length : fake.trailing.size;
      const fixedStops = (): number => venueStops().filter((o) => o.venueType !== 'TRAILING_STOP_MARKET').length;

      fake.inject({ kind: held, method: cancelMethod, path: cancelPath });
      bot.mark();
      bot.send(`/trail T${tradeId} 1%`);
      await bot.confirm();
      await wait(() => fake.find(cancelPath, cancelMethod).length > 0, 'the cancel of the fixed stop at the venue');
      // The trailing stop was journaled, sent and accepted before the fixed one's cancel went out.
      const rows = q<{ client_order_id: string; status: string; trail_pct: number }>(
        `select client_order_id, status, trail_pct from orders where purpose = 'stop_loss' and trail_pct is not null`,
      );
      expect(rows.map((o) => [o.status, o.trail_pct])).toEqual([['open', 0.01]]);
      await bot.kill9();
      expect([fixedStops(), trailing()]).toEqual([held === 'hang' ? 1 : 0, 1]);

      const again = spawnConsoleBot(botCfg.args, botCfg.env);
      children.push(again);
      await again.waitFor('Type /help for commands', 90_000);
      const live = () =>
        q<{ trail_pct: number | null }>(
          `select trail_pct from orders where purpose = 'stop_loss' and status in ('open', 'submitted', 'new', 'partially_filled', 'unknown')`,
        );
      const one = () => fixedStops() === 0 && trailing() === 1 && live().length === 1 && live()[0]!.trail_pct === 0.01;
      await wait(one, 'one native trailing stop, at the venue and in the journal');
      await new Promise((r) => setTimeout(r, 1500)); // and it stays so
      expect(one()).toBe(true);
      if (fake instanceof FakeBinance) expect(venueStops().map((o) => o.qty)).toEqual([0.01]);
      expect(fake.book.trades.filter((t) => t.side === 'SELL')).toEqual([]); // no stop filled
      expect(q<{ n: number }>(`select count(*) n from positions where closed_at is null`)[0]!.n).toBe(1);
      await again.stop();
    }, 240_000);
  }
});
