// Crash safety in live mode: the bot (a child process) trades on the fake Binance with the real ccxt
// and is SIGKILLed at random instants — while submitting, between submit and ack, while fills come
// in — then started again, ≥ 30 times. After all of it: no client order id reached the venue twice,
// every venue trade is in the journal exactly once, and the journal's cash and position equal the
// venue's. (A longer soak: scripts/soak.ts.)
import { describe, expect, it } from 'vitest';
import { crashLoop } from '../helpers/crash-loop.ts';

describe('live crash safety (SIGKILL loop against the fake exchange)', () => {
  it('30 kills: no duplicate order, no lost or doubled fill, books equal the venue', async () => {
    const r = await crashLoop({ kills: 30, seed: 11, candles: 400 });
    expect(r.kills).toBe(30);
    expect(r.ordersSent).toBeGreaterThan(30);
    expect(r.duplicateClientOrderIds).toEqual([]);
    expect(r.venueTrades).toBeGreaterThan(10);
    expect(r.missingFills).toEqual([]);
    expect(r.extraFills).toEqual([]);
    expect(r.duplicateFills).toEqual([]);
    expect(r.journalFills).toBe(r.venueTrades);
    expect(r.journal.btc).toBeCloseTo(r.venue.btc, 9);
    expect(r.journal.cash).toBeCloseTo(r.venue.usdt, 6);
    expect(r.unresolvedOrders).toEqual([]);
    expect(r.reconciliations.filter((x) => x.status === 'halted' || x.status === 'failed')).toEqual([]);
  }, 240_000);
});
