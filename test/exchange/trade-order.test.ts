// Trades of one millisecond are booked in the venue's order: Bybit's execIds are random UUIDs, so its
// `seq` decides (a stop that filled after the buys of the same millisecond must not close a trade first).
import type { Trade } from 'ccxt';
import { describe, expect, it } from 'vitest';
import { byTradeId } from '../../src/exchange/ccxt/sync.ts';

const trade = (id: string, timestamp: number, seq?: number): Trade =>
  ({ id, timestamp, info: seq === undefined ? {} : { seq: String(seq) } }) as unknown as Trade;

describe('trade order', () => {
  it("one millisecond: the venue's sequence, not the random execId", () => {
    const t = 1_700_000_000_000;
    const rows = [
      trade('f3a1-stop', t, 4),
      trade('0b2c-buy', t, 2),
      trade('e9d0-buy', t, 1),
      trade('7c44-buy', t, 3),
      trade('aaaa-old', t - 1, 9),
    ];
    expect(rows.sort(byTradeId).map((r) => r.id)).toEqual(['aaaa-old', 'e9d0-buy', '0b2c-buy', '7c44-buy', 'f3a1-stop']);
  });

  it('numeric ids without a sequence (Binance): by id', () => {
    const t = 1_700_000_000_000;
    expect([trade('100003', t), trade('100001', t), trade('100002', t)].sort(byTradeId).map((r) => r.id)).toEqual([
      '100001',
      '100002',
      '100003',
    ]);
  });
});
