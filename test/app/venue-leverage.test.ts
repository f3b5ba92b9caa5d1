// The leverage set at connect never exceeds the risk limit in force: on isolated margin it re-levers an
// open position (less margin, liquidation closer than the journal shows). market.leverage 5, maxLeverage 3:
// the venue is told 3. Real ccxt against the fake Bybit perps. Found by a trial.
import { afterAll, describe, expect, it } from 'vitest';
import { bybitBot } from '../helpers/bybit-bot.ts';

const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('leverage at connect', () => {
  it('is market.leverage capped at risk.maxLeverage', async () => {
    const { fake, close } = await bybitBot({
      type: 'perp',
      prefix: 'venue-leverage-',
      candles: 30,
      seed: 5,
      volatility: 0.0005,
      config: { market: { leverage: 5 }, risk: { maxLeverage: 3 }, strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } } },
    });
    cleanup.push(close);
    const set = fake.find('/v5/position/set-leverage').map((q) => q.params as Record<string, string>);
    expect(set.length).toBeGreaterThan(0);
    expect(set.map((p) => [p.buyLeverage, p.sellLeverage])).toEqual(set.map(() => ['3', '3']));
    expect(fake.book.leverage.get('BTCUSDT')).toBe(3);
  }, 60_000);
});
