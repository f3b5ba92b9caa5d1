// What active TWAP/iceberg parents have still to buy counts like working entry orders in the risk engine's
// capital in use: a second TWAP is resized to the room the first leaves (it used to be "accepted" in full, and
// both parents then ended stopped short of what the trader was told). Found by a trial helper.
import { afterAll, describe, expect, it } from 'vitest';
import { chatUser, confirmWith, feedCandle, startBot, type Harness } from '../helpers/harness.ts';
import type { Reply } from '../../src/chat/types.ts';

const SYM = 'BTC/USDT';
const trader = chatUser('trader');
const confirmed = (h: Harness, text: string): Promise<{ ask: Reply; done: Reply }> => confirmWith(h, trader, text);

describe('two TWAPs under maxCapitalInUse', () => {
  let h: Harness;
  afterAll(async () => h && (await h.stop()));
  it('the second is sized to what the first leaves; both then fill what they were told', async () => {
    h = await startBot({
      candles: 300,
      config: {
        strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
        risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, stopLossPct: 0.05, riskPerTrade: 0.03, maxCapitalInUse: 0.5 },
      },
    });
    const a = await confirmed(h, `/buy ${SYM} 40% twap 10m`);
    expect(a.ask.text).toMatch(/of the whole: accepted/);
    const idA = /as (\S+) —/.exec(a.done.text)![1]!;
    const b = await confirmed(h, `/buy ${SYM} 40% twap 10m`);
    // The first's four slices still to send leave room for about 10% of equity, not 40%.
    expect(b.ask.text).toMatch(/of the whole: resized by max_capital_in_use/);
    const idB = /as (\S+) —/.exec(b.done.text)![1]!;
    for (let i = 0; i < 14; i++) feedCandle(h, SYM);
    const rowA = h.bot.algos.parents.get(idA)!;
    const rowB = h.bot.algos.parents.get(idB)!;
    expect([rowA.status, rowB.status]).toEqual(['done', 'done']);
    expect(h.bot.algos.progress(rowA).filledQty).toBeGreaterThan(rowA.totalQty * 0.999);
    expect(h.bot.algos.progress(rowB).filledQty).toBeGreaterThan(rowB.totalQty * 0.999);
    expect(rowB.totalQty).toBeLessThan(rowA.totalQty / 3);
  });
});
