// A /tp or /sl the trader sets while a TWAP builds the position stays the trade's level: the children that
// fill afterwards carry the position's levels, not defaults at their own price.
import { afterAll, describe, expect, it } from 'vitest';
import { chatUser, confirmWith, feedCandle, startBot, type Harness } from '../helpers/harness.ts';
import type { Reply } from '../../src/chat/types.ts';

const SYM = 'BTC/USDT';
const trader = chatUser('trader');
const confirmed = async (h: Harness, text: string): Promise<Reply> => (await confirmWith(h, trader, text, { prompted: true })).done;

describe('protection edits while a TWAP builds the position', () => {
  let h: Harness;
  afterAll(async () => h && (await h.stop()));

  it('/tp and /sl set after the first slice hold for the whole position once every slice has filled', async () => {
    h = await startBot({
      candles: 300,
      config: {
        market: { type: 'perp', symbols: [SYM], timeframe: '1m', leverage: 1 },
        strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
        risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, stopLossPct: 0.05, takeProfitPct: 0.05 },
      },
    });
    const id = /as (\S+) —/.exec((await confirmed(h, `/buy ${SYM} 2% twap 10m`)).text)![1]!;
    feedCandle(h, SYM);
    const trade = `T${h.bot.engine.portfolio.positions.get(SYM)!.id}`;
    expect((await confirmed(h, `/tp ${trade} +10%`)).text).toMatch(/take-profit of trade .* is now/);
    expect((await confirmed(h, `/sl ${trade} -8%`)).text).toMatch(/stop-loss of trade .* is now/);
    const edited = h.bot.engine.portfolio.positions.get(SYM)!;
    const { stopLoss, takeProfit } = edited;
    for (let i = 0; i < 10; i++) feedCandle(h, SYM);
    expect(h.bot.algos.parents.get(id)).toMatchObject({ status: 'done', sent: 5 });
    const pos = h.bot.engine.portfolio.positions.get(SYM)!;
    expect(pos.qty).toBeCloseTo(h.bot.algos.parents.get(id)!.totalQty, 9);
    expect(pos.takeProfit).toBe(takeProfit);
    expect(pos.stopLoss).toBe(stopLoss);
    const protective = [...h.bot.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss' || o.purpose === 'take_profit');
    const level = (purpose: string) => protective.filter((o) => o.purpose === purpose).map((o) => [o.stopPrice ?? o.price, o.qty]);
    expect(level('stop_loss')).toEqual([[stopLoss, expect.closeTo(pos.qty, 9)]]);
    expect(level('take_profit')).toEqual([[takeProfit, expect.closeTo(pos.qty, 9)]]);
  });
});
