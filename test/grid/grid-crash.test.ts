// The grid across SIGKILLs: the live bot (a child process, real ccxt) works a spot grid on the fake
// Binance while the venue's price swings through the levels and fills them; it is killed at random
// instants and started again. The venue never holds two working orders for one level pair, no client
// order id reaches it twice, and the journal ends equal to the venue.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/market/generator.ts';
import { killAtRandom, liveChildSetup, spawnLiveBot } from '../helpers/live-child.ts';

const GRID = {
  strategy: { name: 'grid', params: { lower: 29_600, upper: 30_400, levels: 9, qtyPerLevel: 0.001 } },
  risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, maxConsecutiveErrors: 0, maxDailyDrawdown: 1 },
};
const PAIR = /^sk-g\w+-(\d+)-(\d+)$/;

describe('grid crash safety (SIGKILL loop against the fake Binance)', () => {
  it('kills while level orders go out and fill: one working order per level pair at the venue, no id twice, journal = venue', async () => {
    const rand = mulberry32(11);
    const { dir, csv, fake } = await liveChildSetup({ prefix: 'skipper-grid-crash-', candles: 900, seed: 5, volatility: 0.0003 });
    fake.inject({ kind: 'delay', method: 'POST', path: '/api/v3/order', ms: 80, times: Infinity });
    // The venue's price swings 29 550 ↔ 30 450 (the replay's candles stay near 30 000): level orders fill at the venue.
    let t = 0;
    const problems: string[] = [];
    const swing = setInterval(() => {
      t++;
      fake.setPrice('BTCUSDT', 30_000 + 450 * Math.sin(t / 12));
      const working = fake.book.working('BTCUSDT').filter((o) => PAIR.test(o.coid));
      const pairs = working.map((o) => PAIR.exec(o.coid)![1]!);
      const twice = pairs.filter((p, i) => pairs.indexOf(p) !== i);
      if (twice.length > 0) problems.push(`pair ${twice.join(',')} has two working orders: ${working.map((o) => o.coid).join(' ')}`);
    }, 50);
    const run = () => spawnLiveBot({ fake, dir, csv, config: { ...GRID, data: { speed: 300 } } });
    try {
      await killAtRandom(run, { kills: 4, rand, minMs: 800, spanMs: 2500 });
      const last = run();
      await last.waitFor('Type /help');
      await new Promise((r) => setTimeout(r, 6000));
      clearInterval(swing);
      await new Promise((r) => setTimeout(r, 2500)); // the last fills and acks are heard
      const rows = last.query<{ client_order_id: string; status: string; filled_qty: number }>(
        `select client_order_id, status, filled_qty from orders where client_order_id like 'sk-g%'`,
      );
      await last.stop();

      expect(problems).toEqual([]);
      const sent = fake.sentClientOrderIds().filter((id) => PAIR.test(id));
      expect(sent.filter((id, i) => sent.indexOf(id) !== i)).toEqual([]);
      // It traded: levels filled at the venue and were replaced by their opposites.
      const filled = rows.filter((r) => r.status === 'filled');
      expect(filled.length).toBeGreaterThan(4);
      expect(filled.some((r) => fake.order(r.client_order_id)?.side === 'SELL')).toBe(true);
      // Every order the venue has is journaled, with the venue's status.
      const byId = new Map(rows.map((r) => [r.client_order_id, r]));
      for (const id of sent) {
        const v = fake.order(id);
        const j = byId.get(id);
        expect(j, id).toBeDefined();
        // Received but never booked (the bot was killed while the delayed POST was in flight, so the
        // venue dropped it, or the venue refused it): closed out in the journal, never left working.
        if (!v) {
          expect(`${id} ${j!.status}`).toMatch(/ (rejected|cancelled)$/);
          continue;
        }
        const status = {
          NEW: 'open',
          PARTIALLY_FILLED: 'partially_filled',
          FILLED: 'filled',
          CANCELED: 'cancelled',
          EXPIRED: 'expired',
          REJECTED: 'rejected',
        }[v.status as string];
        expect(`${id} ${j!.status}`).toBe(`${id} ${status}`);
      }
      // What never reached the venue is closed out (killed between the journal and the send), never left working.
      for (const r of rows)
        if (!fake.order(r.client_order_id)) expect(`${r.client_order_id} ${r.status}`).toMatch(/ (rejected|cancelled)$/);
    } finally {
      clearInterval(swing);
      await fake.close();
    }
  }, 300_000);
});
