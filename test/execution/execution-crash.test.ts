// TWAP children across SIGKILLs: the bot (a child process, live mode, real ccxt) works a TWAP parent on
// the fake Binance and is killed at random instants, then started again. No child id reaches the venue
// twice, and the parent's whole quantity is filled in the end (children lost before they left are placed again).
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mulberry32 } from '../../src/market/generator.ts';
import { killAtRandom, liveChildSetup, spawnLiveBot } from '../helpers/live-child.ts';

const PARENT = 'sk-twapk1';
const TOTAL = 0.012;
const QUIET = {
  strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
  risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, maxConsecutiveErrors: 0 },
};

describe('TWAP crash safety (SIGKILL loop against the fake Binance)', () => {
  it('kills while children go out: no child id twice at the venue, every slice journaled once, the whole parent filled', async () => {
    const rand = mulberry32(5);
    const { dir, csv, fake } = await liveChildSetup({ prefix: 'skipper-twap-crash-', candles: 3000, seed: 5, volatility: 0.001 });
    // Orders take a moment to be acknowledged, so kills land between submit and ack too.
    fake.inject({ kind: 'delay', method: 'POST', path: '/api/v3/order', ms: 120, times: Infinity });
    const run = () => spawnLiveBot({ fake, dir, csv, config: { ...QUIET, data: { speed: 60 } } });
    try {
      // A first clean start creates the journal; then the parent is written as /buy … twap would write it.
      const first = run();
      await first.waitFor('Type /help');
      await first.stop();
      const db = new Database(first.dbPath);
      db.prepare(
        `insert into parent_orders (id, symbol, side, algo, total_qty, slices, interval_ms, limit_offset_bps, sent, next_at, status, created_by, created_at, updated_at)
         values (?, 'BTC/USDT', 'buy', 'twap', ?, 12, 250, 0, 0, ?, 'active', 'test', ?, ?)`,
        // Created now (a live bot's clock is the wall): one of 1970 would be far past its plan, stopped as stale.
      ).run(PARENT, TOTAL, Date.now(), Date.now(), Date.now());
      db.close();

      const kills = 4;
      await killAtRandom(run, { kills, rand, minMs: 300, spanMs: 1500 });
      // Let it finish: the last children, and orders that never left resolved after the receive window.
      const last = run();
      await last.waitFor('Type /help');
      const end = Date.now() + 90_000;
      let status = '';
      while (Date.now() < end) {
        status = last.query<{ status: string }>(`select status from parent_orders where id = '${PARENT}'`)[0]?.status ?? '';
        if (status !== 'active') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const kids = last.query<{ client_order_id: string; status: string; filled_qty: number }>(
        `select client_order_id, status, filled_qty from orders where client_order_id like '${PARENT}-%'`,
      );
      await last.stop();

      expect(status).toBe('done');
      const sent = fake.sentClientOrderIds().filter((id) => id.startsWith(`${PARENT}-`));
      // A child killed before it left the process never reaches the venue: it is closed out and its
      // quantity goes to the next child, so fewer than 12 may be sent; none twice, none left open.
      expect(sent.length).toBeGreaterThanOrEqual(12 - kills);
      const unsent = kids.filter((k) => !sent.includes(k.client_order_id));
      expect(unsent.filter((k) => k.status !== 'rejected' || k.filled_qty !== 0)).toEqual([]);
      expect(sent.filter((id, i) => sent.indexOf(id) !== i)).toEqual([]);
      const ids = kids.map((k) => Number(k.client_order_id.slice(PARENT.length + 1))).sort((a, b) => a - b);
      expect(ids.slice(0, 12)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(kids.filter((k) => ['new', 'submitted', 'unknown'].includes(k.status))).toEqual([]);
      const filled = kids.reduce((t, k) => t + k.filled_qty, 0);
      expect(filled).toBeCloseTo(TOTAL, 9);
      const venueBtc = fake.book.bal('BTC');
      expect(venueBtc.free + venueBtc.locked).toBeCloseTo(TOTAL, 9);
    } finally {
      await fake.close();
    }
  }, 420_000);
});
