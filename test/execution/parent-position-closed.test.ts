// A manual TWAP/iceberg parent whose position closes under it (/close, its stop-loss) sends nothing more and
// cancels a child still resting: an exit parent never opens the other side, an entry parent never re-opens the
// trade; a parent that closes the whole position itself still ends done.
import { afterAll, describe, expect, it } from 'vitest';
import { chatUser, confirmWith, feedCandle, startBot, type Harness } from '../helpers/harness.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { Reply } from '../../src/chat/types.ts';

const SYM = 'BTC/USDT';
const trader = chatUser('trader');

const confirmed = async (h: Harness, text: string): Promise<Reply> => (await confirmWith(h, trader, text, { prompted: true })).done;
const parentIdOf = (r: Reply): string => /as (\S+) —/.exec(r.text)![1]!;
const position = (h: Harness): string => {
  const p = h.bot.engine.portfolio.positions.get(SYM);
  return p ? `${p.side} ${p.qty}` : 'flat';
};
const minutes = (h: Harness, n: number, move = 0): void => {
  for (let i = 0; i < n; i++) feedCandle(h, SYM, i === 0 ? move : 0);
};
const config = (type: 'spot' | 'perp'): ConfigInput => ({
  market: { type, symbols: [SYM], timeframe: '1m', allowShort: false, leverage: 1 },
  strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
  risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, stopLossPct: 0.05 },
});

describe('a TWAP parent whose position has closed', () => {
  const bots: Harness[] = [];
  const bot = async (type: 'spot' | 'perp'): Promise<Harness> => {
    const h = await startBot({ candles: 300, config: config(type) });
    bots.push(h);
    return h;
  };
  afterAll(async () => {
    for (const h of bots) await h.stop();
  });

  it('perps: an exit TWAP stops once /close has closed the long; it never sells into a short', async () => {
    const h = await bot('perp');
    await confirmed(h, `/buy ${SYM} 0.01`);
    minutes(h, 1);
    const id = parentIdOf(await confirmed(h, `/sell ${SYM} 0.01 twap 10m`));
    minutes(h, 1);
    expect(position(h)).toBe('long 0.008');
    await confirmed(h, `/close ${SYM}`);
    minutes(h, 14);
    expect(position(h)).toBe('flat');
    expect(h.bot.algos.parents.get(id)).toMatchObject({
      status: 'stopped',
      reason: expect.stringMatching(/position it was closing has closed/),
    });
    expect(h.bot.algos.parents.children(id)).toHaveLength(1);
  });

  it('perps: an exit TWAP stops once the stop-loss has closed the rest', async () => {
    const h = await bot('perp');
    await confirmed(h, `/buy ${SYM} 0.01`);
    minutes(h, 1);
    const id = parentIdOf(await confirmed(h, `/sell ${SYM} 0.01 twap 10m`));
    minutes(h, 1);
    minutes(h, 14, -0.07); // through the 5 % stop
    expect(position(h)).toBe('flat');
    expect(h.bot.algos.parents.get(id)?.status).toBe('stopped');
  });

  it('spot: a buy TWAP stops once /close has closed its long; it does not buy it again', async () => {
    const h = await bot('spot');
    const id = parentIdOf(await confirmed(h, `/buy ${SYM} 2% twap 10m`));
    minutes(h, 3); // slices 1 and 2 filled
    await confirmed(h, `/close ${SYM}`);
    minutes(h, 12);
    expect(position(h)).toBe('flat');
    expect(h.bot.algos.parents.get(id)).toMatchObject({
      status: 'stopped',
      reason: expect.stringMatching(/position it was building has closed/),
    });
    expect(h.bot.algos.parents.children(id)).toHaveLength(2);
  });

  it('spot: an iceberg whose long was /closed cancels its resting clip; a dip through it opens nothing', async () => {
    const h = await startBot({ candles: 300, config: { ...config('spot'), execution: { slices: 4, limitOffsetBps: 20 } } });
    bots.push(h);
    const id = parentIdOf(await confirmed(h, `/buy ${SYM} 0.02 iceberg`));
    minutes(h, 1, -0.004); // clip 1 fills; clip 2 rests 20 bps under the price
    expect(position(h)).toBe('long 0.005');
    await confirmed(h, `/close ${SYM}`);
    minutes(h, 1, 0.002);
    minutes(h, 3, -0.006); // through where clip 2 rested
    expect(position(h)).toBe('flat');
    expect(h.bot.algos.parents.get(id)).toMatchObject({
      status: 'stopped',
      reason: expect.stringMatching(/position it was building has closed/),
    });
    expect(h.bot.algos.parents.children(id).map((o) => o.status)).toEqual(['filled', 'cancelled']);
  });

  it('an exit TWAP that closes the whole position itself ends done', async () => {
    const h = await bot('perp');
    await confirmed(h, `/buy ${SYM} 0.01`);
    minutes(h, 1);
    const id = parentIdOf(await confirmed(h, `/sell ${SYM} 0.01 twap 10m`));
    minutes(h, 14);
    expect(position(h)).toBe('flat');
    expect(h.bot.algos.parents.get(id)).toMatchObject({ status: 'done', sent: 5, reason: null });
  });
});
