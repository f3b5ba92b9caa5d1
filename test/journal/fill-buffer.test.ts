// Fills of a `fills`-detail journal (backtests) wait in memory until read; every reader sees them.
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fill } from '../../src/core/types.ts';
import { Journal } from '../../src/journal/journal.ts';

const fill = (i: number): Fill => ({
  tradeId: `t${i}`,
  clientOrderId: `bt-${i}`,
  exchangeOrderId: `x${i}`,
  symbol: 'BTC/USDT',
  side: i % 2 ? 'sell' : 'buy',
  price: 100 + i,
  qty: 0.5,
  fee: 0.05,
  feeCurrency: 'USDT',
  liquidity: 'taker',
  ts: 60_000 * i,
});

describe('fills-detail journal (backtests)', () => {
  it('books a trade id once; fills(), count, cash flows and the recorded rows agree with a full journal', () => {
    const fast = new Journal({ path: ':memory:', detail: 'fills' });
    const full = new Journal({ path: ':memory:', detail: 'full' });
    for (const j of [fast, full]) {
      for (let i = 0; i < 5; i++) expect(j.recordFill('paper', fill(i), i, -10 * i)).toBe(true);
      expect(j.recordFill('paper', fill(3), 3, -30)).toBe(false);
    }
    expect(fast.recordedFills()).toEqual(full.fills());
    expect(fast.fills()).toEqual(full.fills());
    expect(fast.count('fills')).toBe(5);
    expect(fast.cashFlows()).toEqual(full.cashFlows());
    expect(fast.recordFill('paper', fill(5), 0, 0)).toBe(true); // after a read, still buffered and deduped
    expect(fast.recordFill('paper', fill(5), 0, 0)).toBe(false);
    expect(fast.hasFill('paper', 't5')).toBe(true);
    expect(fast.lastFillTs('paper')).toBe(300_000);
    expect(fast.fills().map((f) => f.id)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a journal file holds every fill after close', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'skipper-fb-')), 'bt.db');
    const j = new Journal({ path, detail: 'fills' });
    for (let i = 0; i < 3; i++) j.recordFill('paper', fill(i), 0, 0);
    j.close();
    const again = new Journal({ path, detail: 'full' });
    expect(again.fills().map((f) => f.tradeId)).toEqual(['t0', 't1', 't2']);
    again.close();
  });
});
