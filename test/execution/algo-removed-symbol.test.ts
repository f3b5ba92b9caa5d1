// A parent left active on a symbol that is no longer traded (taken out of market.symbols, then a restart) is
// stopped with the reason, once; the candles of the symbols still traded are not disturbed by it.
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

function boot(journal: Journal, t: number, symbols: string[]) {
  const cfg = parseConfig({
    botId: 'sk',
    market: { symbols, timeframe: '1m' },
    strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
    risk: { minTradeIntervalSec: 0 },
  });
  const clock = new SimClock(t);
  const k = buildEngine(cfg, { mode: 'paper', clock, journal });
  for (const s of symbols) k.engine.setMarket(s, k.exchange.market(s));
  const feed = (symbol: string, ts: number, p: number): void => {
    clock.set(ts + MIN);
    k.engine.onCandle(symbol, { ts, open: p, high: p, low: p, close: p, volume: 10 } satisfies Candle);
  };
  return { k, feed };
}

describe('a parent on a symbol no longer traded', () => {
  it('is stopped with the reason; the other symbol’s candle goes on', () => {
    const journal = new Journal({ path: join(tempDir(), 'j.db') });
    const a = boot(journal, T0, ['BTC/USDT', 'ETH/USDT']);
    for (let i = 0; i < 3; i++) {
      a.feed('BTC/USDT', T0 + i * MIN, 30_000);
      a.feed('ETH/USDT', T0 + i * MIN, 2_000);
    }
    const started = a.k.algos!.start({ symbol: 'ETH/USDT', side: 'buy', qty: 1, algo: 'twap', by: 'ada' });
    expect(started.ok).toBe(true);
    const id = started.ok ? started.parent.id : '';

    const b = boot(journal, T0 + 13 * MIN, ['BTC/USDT']);
    expect(() => b.feed('BTC/USDT', T0 + 12 * MIN, 30_000)).not.toThrow();
    expect(b.k.algos!.parents.get(id)).toMatchObject({ status: 'stopped', reason: 'ETH/USDT is no longer traded (not in market.symbols)' });
    expect(b.k.algos!.parents.children(id)).toHaveLength(1);
    journal.close();
  });
});
