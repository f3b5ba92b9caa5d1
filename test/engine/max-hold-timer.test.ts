// Max holding time between candles: after a paper replay has ended, the engine clock moves on at wall pace
// and no candle comes; the bot's timer (engine.checkHoldTimes) closes a position that outlived it.
import { afterAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../src/chat/types.ts';
import { ManualClock, chatUser, startBot, type Harness } from '../helpers/harness.ts';

const SYM = 'BTC/USDT';
const trader = chatUser('trader');

describe('max holding time after the replay has ended', () => {
  let h: Harness;
  afterAll(async () => h && (await h.stop()));
  it('closes the position on the moved-on clock, with the max-hold alert', async () => {
    const wall = new ManualClock();
    h = await startBot({
      candles: 300,
      config: { strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } }, risk: { minTradeIntervalSec: 0, maxHoldMinutes: 5 } },
      bot: { wallClock: wall },
    });
    const ask: Reply = (await h.bot.dispatcher.handleText(trader, `/buy ${SYM} 0.01`))!;
    await h.bot.dispatcher.handleButton(trader, ask.buttons!.flat().find((b) => b.label === 'Confirm')!.data);
    expect(h.bot.engine.portfolio.positions.get(SYM)).toBeDefined();
    h.bot.engine.checkHoldTimes();
    expect(h.bot.engine.portfolio.positions.get(SYM)).toBeDefined(); // not yet 5 minutes
    wall.t += 6 * 60_000; // the replay's clock moves on with the wall
    h.bot.engine.checkHoldTimes();
    expect(h.bot.engine.portfolio.positions.get(SYM)).toBeUndefined();
    const closed = h.bot.journal.recentAlerts(20).find((a) => a.title.startsWith('Max holding time: closing long BTC/USDT'));
    expect(closed?.message).toMatch(/max holding time 5 min reached \(trade T1\): closing at market with/);
  });
});
