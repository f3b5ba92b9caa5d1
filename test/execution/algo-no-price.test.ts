// After a restart, a TWAP slice falls due before its symbol's first candle: it waits for that candle.
// It used to be priced NaN, its decision's journal write threw inside the other symbol's candle (the
// algo tick runs after every candle), and in the bot that symbol's feed stopped. Found by a trial.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../src/app/kernel.ts';
import { parseConfig } from '../../src/config/load.ts';
import { SimClock } from '../../src/core/clock.ts';
import type { Candle } from '../../src/core/types.ts';
import { Journal } from '../../src/journal/journal.ts';
import { tempDir } from '../helpers/harness.ts';

const T0 = Date.UTC(2025, 0, 1);
const MIN = 60_000;
const cfg = parseConfig({
  botId: 'sk',
  market: { symbols: ['BTC/USDT', 'ETH/USDT'], timeframe: '1m' },
  strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
  risk: { minTradeIntervalSec: 0 },
});

function boot(journal: Journal, t: number) {
  const clock = new SimClock(t);
  const k = buildEngine(cfg, { mode: 'paper', clock, journal });
  for (const s of cfg.market.symbols) k.engine.setMarket(s, k.exchange.market(s));
  const feed = (symbol: string, ts: number, p: number) => {
    const c: Candle = { ts, open: p, high: p, low: p, close: p, volume: 10 };
    clock.set(ts + MIN);
    k.engine.onCandle(symbol, c);
  };
  return { k, feed };
}

describe('a TWAP slice due before its symbol has a price', () => {
  it('waits for the first candle: the other symbol goes on, no decision without a price, the slice then goes out', () => {
    const journal = new Journal({ path: join(tempDir(), 'j.db') });
    const a = boot(journal, T0);
    for (let i = 0; i < 3; i++) {
      a.feed('BTC/USDT', T0 + i * MIN, 30_000);
      a.feed('ETH/USDT', T0 + i * MIN, 2_000);
    }
    expect(a.k.algos!.start({ symbol: 'BTC/USDT', side: 'buy', qty: 0.01, algo: 'twap', by: 'ada' }).ok).toBe(true);
    const sentBefore = a.k.algos!.parents.active()[0]!.sent;

    // Restart on the same journal, 5 minutes on (within the plan: later it is stale): the next BTC slice is due,
    // ETH's candle comes first.
    const b = boot(journal, T0 + 8 * MIN);
    expect(() => b.feed('ETH/USDT', T0 + 7 * MIN, 2_000)).not.toThrow();
    expect(b.k.engine.candleCounts('ETH/USDT').accepted).toBe(1);
    const waiting = b.k.algos!.parents.active()[0]!;
    expect(waiting.sent).toBe(sentBefore);
    expect(journal.sqlite.prepare('SELECT count(*) n FROM decisions WHERE NOT (price > 0)').get()).toEqual({ n: 0 });

    b.feed('BTC/USDT', T0 + 7 * MIN, 30_100);
    expect(b.k.algos!.parents.get(waiting.id)!.sent).toBe(sentBefore + 1);
    journal.close();
  });
});
