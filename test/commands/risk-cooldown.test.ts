// risk.cooldownAfterLossSec from chat: a trade closed at a loss (its fees) keeps /buy on that symbol
// out until the cooldown has passed; /risk shows which symbol cools down until when.
import { afterAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../src/chat/types.ts';
import { chatUser, feedCandle, startBot, type Harness } from '../helpers/harness.ts';

const SYM = 'BTC/USDT';
const trader = chatUser('trader');

async function confirmed(h: Harness, text: string): Promise<Reply> {
  const ask = (await h.bot.dispatcher.handleText(trader, text))!;
  const b = ask.buttons?.flat().find((x) => x.label === 'Confirm');
  if (!b) return ask;
  return (await h.bot.dispatcher.handleButton(trader, b.data)).edit ?? ask;
}

describe('cooldown after a loss, from chat', () => {
  let h: Harness;
  afterAll(() => h?.stop());

  it('a loss on a symbol keeps its entries out; /risk says until when', async () => {
    h = await startBot({
      candles: 600,
      config: {
        strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
        risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, cooldownAfterLossSec: 3600 },
      },
    });
    expect((await confirmed(h, '/risk')).text).toMatch(/\nAfter a loss: +no symbol cooling down\n/);
    await confirmed(h, `/buy ${SYM} 0.01`);
    feedCandle(h, SYM);
    await confirmed(h, `/close ${SYM}`);
    feedCandle(h, SYM); // closed at the same price: the fees make it a loss
    expect(h.bot.engine.portfolio.positions.size).toBe(0);
    expect((await confirmed(h, '/risk')).text).toMatch(
      /\nAfter a loss: +no entries on BTC\/USDT until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(replay time\)\n/,
    );
    expect((await confirmed(h, `/buy ${SYM} 0.01`)).text).toMatch(
      /Risk: rejected by cooldown_after_loss — a BTC\/USDT trade closed at a loss \d+ (s|min) ago; cooldown after a loss is 1 h: wait 59 min/,
    );
  });
});
