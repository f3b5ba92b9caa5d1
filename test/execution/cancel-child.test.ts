// /cancel of a TWAP/iceberg child: the reply used to say only "Now cancelled", though the parent places that
// quantity again with its next child; and /orders showed an iceberg's "next slice" as a past time while its clip
// rested. Found by a trial helper.
import { afterAll, describe, expect, it } from 'vitest';
import { chatUser, confirmWith, feedCandle, reply, startBot, type Harness } from '../helpers/harness.ts';
import type { Reply } from '../../src/chat/types.ts';

const SYM = 'BTC/USDT';
const trader = chatUser('trader');
const send = (h: Harness, text: string): Promise<Reply> => reply(h, trader, text);
const confirmed = async (h: Harness, text: string): Promise<Reply> => (await confirmWith(h, trader, text)).done;

describe('/cancel of an iceberg clip', () => {
  let h: Harness;
  afterAll(async () => h && (await h.stop()));
  it('names the parent, says its quantity goes to the next clips and how to stop the parent; /orders says "after <clip>"', async () => {
    h = await startBot({
      candles: 300,
      config: {
        strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
        risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, stopLossPct: 0.05 },
        execution: { slices: 4, limitOffsetBps: 50 },
      },
    });
    const r = await confirmed(h, `/buy ${SYM} 0.02 iceberg`);
    const id = /as (\S+) —/.exec(r.text)![1]!;
    const c = await send(h, `/cancel ${id}-1`);
    expect(c.text).toMatch(/Now cancelled\./);
    expect(c.text).toContain(`It is a child of ICEBERG ${id} (buy ${SYM}, 1 of 4 clips sent), which goes on`);
    expect(c.text).toContain(`/cancel ${id} stops the parent.`);
    feedCandle(h, SYM, 0.001); // the next clip goes out and rests (50 bps under the price)
    expect(h.bot.algos.parents.children(id).map((o) => o.status)).toEqual(['cancelled', 'open']);
    const orders = (await send(h, '/orders')).text;
    expect(orders).toMatch(new RegExp(`${id} .* after ${id}-2 `));
    expect(orders).not.toMatch(new RegExp(`${id} .* \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC`));
  });
});
