// Funding payments and the reconciliation, with the REAL ccxt against the local fake Bybit (linear
// perps): a settlement the adapter's poll has not booked yet (it looks once a minute, from its connect),
// or one settled while the bot was down, is booked by the reconciliation before it compares the wallet —
// it never reads as "the venue holds less than the journal expects" and never halts trading. Funding
// from before the account's first start is not the bot's.
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { MemoryAlertSink } from '../../src/core/alerts.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Reconciler } from '../../src/engine/reconcile.ts';
import { Journal } from '../../src/journal/journal.ts';
import { STATE } from '../../src/journal/state-keys.ts';
import { ccxtRig, closeRigs, type RigOptions } from '../helpers/ccxt-rig.ts';
import { tempDir } from '../helpers/harness.ts';
import { idleEngine, until } from '../helpers/venue-time.ts';

const SYM = 'BTC/USDT';
const journals: Journal[] = [];
afterEach(async () => {
  await closeRigs();
  for (const j of journals.splice(0)) j.close();
});

/** A live engine + reconciler on the fake Bybit; the account's first start is now, with the venue's cash. */
async function bot(opts: RigOptions<'bybit'> = {}) {
  const r = await ccxtRig('bybit', 'perp', opts);
  const journal = new Journal({ path: join(tempDir('skipper-reconcile-funding-'), 'journal.db') });
  journals.push(journal);
  const usdt = r.fake.book.bal('USDT');
  const cash = usdt.free + usdt.locked;
  STATE.account.write(journal, { startingCash: cash, quote: 'USDT', createdAt: r.clock.now(), fromVenue: true }, r.clock.now());
  const alerts = new MemoryAlertSink();
  const engine = idleEngine({ clock: r.clock, journal, exchange: r.ex, alerts, marketType: 'perp', leverage: 5, startingCash: cash });
  engine.setMarket(SYM, r.ex.market(SYM));
  const reconciler = new Reconciler(engine, journal, r.ex, alerts, silentLogger(), r.clock, { inFlightGraceMs: 7000 });
  const venueCash = (): number => r.fake.book.bal('USDT').free + r.fake.book.bal('USDT').locked;
  return { r, journal, engine, reconciler, venueCash };
}

describe('funding and the reconciliation (fake Bybit, real ccxt)', () => {
  test('settlements the poll has not booked yet — one just now, one 30 h ago — are booked by the reconciliation: no halt', async () => {
    // The adapter's REST poll stays asleep: the reconciliation is the only reader.
    const b = await bot({ noPolling: true });
    expect((await b.reconciler.run('startup')).status).toBe('ok');
    const now = b.r.clock.now();
    b.engine.onCandle(SYM, {
      ts: Math.floor(now / 60_000) * 60_000 - 60_000,
      open: 30_000,
      high: 30_000,
      low: 30_000,
      close: 30_000,
      volume: 1,
    });
    const sell = b.engine.manualOrder({ symbol: SYM, side: 'sell', qty: 0.01 }, 'test').order!;
    await until(() => b.r.fake.order(sell.clientOrderId)?.status === 'FILLED', 'the short filled at the venue');
    expect((await b.reconciler.run('timer')).missingFills).toBe(1);
    expect(b.engine.portfolio.positions.get(SYM)).toMatchObject({ side: 'short', qty: 0.01 });

    const old = b.r.fake.fund('BTCUSDT', -0.01)!; // rate < 0: the short pays 0.01 × 30,000 × 1 % = 3
    expect(old.amount).toBeCloseTo(-3, 6);
    b.r.clock.advance(30 * 3_600_000); // the bot was down for 30 h
    const recent = b.r.fake.fund('BTCUSDT', -0.01)!;
    const rep = await b.reconciler.run('startup');
    expect(rep).toMatchObject({ status: 'fixed', missingFunding: 2, problems: [] });
    expect(rep.summary).toBe('2 funding payments recorded');
    expect(b.engine.status().breaker).toBe(false);
    expect(b.engine.portfolio.cash).toBeCloseTo(b.venueCash(), 6);
    expect(b.journal.cashFlows().funding).toBeCloseTo(old.amount + recent.amount, 6);

    // Booked once: the next run finds nothing to book and nothing to halt on.
    expect(await b.reconciler.run('timer')).toMatchObject({ status: 'ok', missingFunding: 0 });
    expect(b.journal.cashFlows().funding).toBeCloseTo(old.amount + recent.amount, 6);
  });

  test('funding the account paid before the bot’s first start is not the bot’s: not booked by the poll or the reconciliation', async () => {
    const r0 = await ccxtRig('bybit', 'perp', { noPolling: true });
    // Earlier today, by hand: a short that paid funding 2 h ago, closed since.
    const hand = (side: 'BUY' | 'SELL', coid: string) =>
      r0.fake.book.place({
        symbol: 'BTCUSDT',
        side,
        kind: 'market',
        venueType: 'MARKET',
        coid,
        qty: 0.01,
        tif: 'GTC',
        postOnly: false,
        reduceOnly: false,
        conditional: false,
      });
    hand('SELL', 'phone-1');
    r0.clock.advance(-2 * 3_600_000);
    r0.fake.fund('BTCUSDT', -0.01);
    r0.clock.advance(2 * 3_600_000);
    hand('BUY', 'phone-2');
    // The bot's first start on this account, polling as it runs live.
    const b = await bot({ fakeInstance: r0.fake, clock: r0.clock });
    expect((await b.reconciler.run('startup')).status).toBe('ok');
    b.r.clock.advance(61_000); // past the adapter's first funding polls
    await new Promise((res) => setTimeout(res, 300));
    expect(b.journal.cashFlows().funding).toBe(0);
    expect(b.engine.portfolio.cash).toBeCloseTo(b.venueCash(), 6);
    expect(await b.reconciler.run('timer')).toMatchObject({ status: 'ok', missingFunding: 0, problems: [] });
  });
});
