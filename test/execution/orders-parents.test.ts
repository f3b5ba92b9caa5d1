// /orders lists every active parent, whatever came after it: one older than 50 newer parents (a strategy with
// execution.signals makes one per entry) stays listed, first.
import { afterAll, describe, expect, it } from 'vitest';
import { chatUser, reply, startBot, type Harness } from '../helpers/harness.ts';
import type { Reply } from '../../src/chat/types.ts';

const SYM = 'BTC/USDT';
const trader = chatUser('trader');
const send = (h: Harness, text: string): Promise<Reply> => reply(h, trader, text);

describe('/orders and an old active parent', () => {
  let h: Harness;
  afterAll(async () => h && (await h.stop()));
  it('an active iceberg stays in /orders whatever came after it', async () => {
    h = await startBot({
      candles: 300,
      config: { strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } }, execution: { slices: 4, limitOffsetBps: 500 } },
    });
    const ask = await send(h, `/buy ${SYM} 0.02 iceberg`);
    const done = (await h.bot.dispatcher.handleButton(trader, ask.buttons!.flat().find((b) => b.label === 'Confirm')!.data)).edit!;
    const id = /as (\S+) —/.exec(done.text)![1]!;
    const p = h.bot.algos.parents.get(id)!;
    // 50 later parents (as split strategy entries leave them over a day or two), all done long ago.
    const ins = h.bot.journal.sqlite.prepare(
      `insert into parent_orders (id, symbol, side, algo, total_qty, slices, interval_ms, limit_offset_bps, sent, next_at, status, created_by, created_at, updated_at)
       values (?, 'BTC/USDT', 'buy', 'twap', 0.01, 4, 60000, 0, 4, 0, 'done', 'strategy sma-cross', ?, ?)`,
    );
    for (let i = 1; i <= 50; i++) ins.run(`sk-zz${String(i).padStart(4, '0')}`, p.createdAt + i, p.createdAt + i);
    const orders = (await send(h, '/orders')).text;
    expect(h.bot.algos.parents.get(id)?.status).toBe('active');
    const rows = orders.split('Parent orders')[1]!.split('\n').slice(3);
    expect(rows[0]).toMatch(new RegExp(`^${id}\\s+BTC/USDT\\s+buy\\s+iceberg`));
    expect(rows).toHaveLength(51);
  });
});
