// A restart with a perp position open never re-levers it: start-up sets the configured leverage only on
// symbols without a position; an open one keeps the leverage it runs at (the risk engine may have opened
// it below market.leverage, at risk.maxLeverage). Real ccxt against the fake Bybit and Binance USDⓈ-M.
import { afterEach, describe, expect, it } from 'vitest';
import { ccxtRig, closeRigs } from '../helpers/ccxt-rig.ts';

afterEach(closeRigs);

describe('start-up leverage with a position open', () => {
  for (const venue of ['bybit', 'binance'] as const) {
    it(`${venue}: the 3× short opened under a 5× config keeps 3× across a restart`, async () => {
      // First start: no position, the configured 5× is set.
      const a = await ccxtRig(venue, 'perp', { leverage: 5, noPolling: true });
      const lev = (): number | undefined => a.fake.book.leverage.get('BTCUSDT');
      expect(lev()).toBe(5);
      // The risk engine capped an entry at 3× (the adapter sets it before the order): a 3× short.
      await (a.ex as unknown as { ensureLeverage(s: string, l: number): Promise<void> }).ensureLeverage('BTC/USDT', 3);
      a.fake.book.place({
        symbol: 'BTCUSDT',
        side: 'SELL',
        kind: 'market',
        venueType: 'MARKET',
        coid: 'sk-000001',
        qty: 0.01,
        tif: 'GTC',
        postOnly: false,
        reduceOnly: false,
        conditional: false,
      });
      expect(lev()).toBe(3);
      await a.ex.close();

      // The restart, same config: the open short's leverage is left alone.
      const before = a.fake.requests.length;
      const b = await ccxtRig(venue, 'perp', { leverage: 5, noPolling: true, fakeInstance: a.fake, clock: a.clock });
      expect(lev()).toBe(3);
      expect(b.fake.requests.slice(before).filter((r) => r.method === 'POST' && /leverage/i.test(r.path))).toEqual([]); // no set-leverage
      expect((await b.ex.fetchPositions()).map((p) => [p.side, p.qty, p.leverage])).toEqual([['short', 0.01, 3]]);

      // Closed, the next start sets the configured leverage again.
      a.fake.book.place({
        symbol: 'BTCUSDT',
        side: 'BUY',
        kind: 'market',
        venueType: 'MARKET',
        coid: 'sk-000002',
        qty: 0.01,
        tif: 'GTC',
        postOnly: false,
        reduceOnly: true,
        conditional: false,
      });
      await b.ex.close();
      await ccxtRig(venue, 'perp', { leverage: 5, noPolling: true, fakeInstance: a.fake, clock: a.clock });
      expect(lev()).toBe(5);
    });
  }
});
