// /pause and /resume, for every symbol or one: entries stop, exits (an exit TWAP too) keep working, the
// pause of one symbol shows in /status and /risk and survives a restart.
import { afterAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../src/chat/types.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { chatUser, feedCandle, startBot, tempDir, type Harness } from '../helpers/harness.ts';

const SYM = 'BTC/USDT';
const QUIET: ConfigInput = {
  market: { symbols: [SYM, 'ETH/USDT'] },
  strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
  risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, stopLossPct: 0.05, maxOpenPositions: 5 },
};
const trader = chatUser('trader');

async function send(h: Harness, text: string): Promise<Reply> {
  const r = await h.bot.dispatcher.handleText(trader, text);
  if (!r) throw new Error(`no reply to ${text}`);
  return r;
}
/** Sends a command and presses Confirm if it asks. */
async function confirmed(h: Harness, text: string): Promise<Reply> {
  const ask = await send(h, text);
  const b = ask.buttons?.flat().find((x) => x.label === 'Confirm');
  if (!b) return ask;
  const res = await h.bot.dispatcher.handleButton(trader, b.data);
  return res.edit ?? ask;
}

describe('/pause and /resume', () => {
  const dir = tempDir();
  let h: Harness;
  afterAll(() => h?.stop());

  it('/pause stops entries only: an exit TWAP keeps working', async () => {
    h = await startBot({ dir, config: QUIET, candles: 600 });
    await confirmed(h, `/buy ${SYM} 0.02`);
    feedCandle(h, SYM);
    feedCandle(h, 'ETH/USDT');
    expect(h.bot.engine.portfolio.positions.get(SYM)?.qty).toBeCloseTo(0.02, 8);
    const exit = await confirmed(h, `/sell ${SYM} 0.02 twap 5m`);
    const id = /as (\S+) —/.exec(exit.text)![1]!;
    expect((await send(h, '/pause')).text).toMatch(/^Paused by /);
    for (let i = 0; i < 8; i++) feedCandle(h, SYM);
    expect(h.bot.algos.parents.get(id)?.status).toBe('done');
    expect(h.bot.engine.portfolio.positions.get(SYM)).toBeUndefined();
    expect((await send(h, '/resume')).text).toMatch(/New entries allowed\.$/);
  });

  it('/pause <symbol>: no entries on it, the others trade on; /status and /risk say so', async () => {
    expect((await send(h, '/pause eth')).text).toMatch(
      /^ETH\/USDT paused by .+: no new entries on it, other symbols trade on\. \/resume ETH\/USDT to trade it again\.$/,
    );
    expect((await send(h, '/pause ETH/USDT')).text).toBe('ETH/USDT is already paused. /resume ETH/USDT to trade it again.');
    expect((await send(h, '/pause XRP/USDT')).text).toMatch(/^XRP\/USDT is not traded by this bot\. Symbols: BTC\/USDT, ETH\/USDT\.$/);
    const eth = await confirmed(h, '/buy ETH/USDT 0.1');
    expect(eth.text).toMatch(/ETH\/USDT paused by /);
    expect(h.bot.engine.liveOrders.size).toBe(0);
    await confirmed(h, `/buy ${SYM} 0.01`);
    feedCandle(h, SYM);
    expect(h.bot.engine.portfolio.positions.get(SYM)?.qty).toBeCloseTo(0.01, 8);
    expect((await send(h, '/status')).text).toMatch(/\nRisk: +OK, trading the symbols not paused \(below\)\n/);
    expect((await send(h, '/status')).text).toMatch(
      /\nPaused: +ETH\/USDT by .+ since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(replay time\) \(\/resume <symbol>\)\n/,
    );
    expect((await send(h, '/risk')).text).toMatch(/\nPaused symbols: +ETH\/USDT by /);
    expect((await send(h, '/resume')).text).toBe(
      'Already trading: nothing to resume. Still paused on their own: ETH/USDT (/resume ETH/USDT).',
    );
    expect((await send(h, `/pause ${SYM}`)).text).toMatch(
      /: no new entries on it; its open position keeps its exits and stops, other symbols trade on\./,
    );
    expect((await send(h, `/resume ${SYM}`)).text).toMatch(/^BTC\/USDT resumed by /);
  });

  it('/pause names the entry orders it leaves working at the venue', async () => {
    const px = h.bot.engine.lastPrice(SYM)!;
    const limit = Math.round(px * 0.5);
    const buy = await confirmed(h, `/buy ${SYM} 0.01 ${limit}`);
    const id = [...h.bot.engine.liveOrders.values()].find((o) => o.purpose === 'manual' && o.side === 'buy')?.clientOrderId;
    expect(id, buy.text).toBeDefined();
    const r = (await send(h, `/pause ${SYM}`)).text;
    expect(r).toContain(`Still working at the venue and able to fill: 1 entry order, ${id} (buy 0.01 ${SYM} @ `);
    expect(r).toContain(`(/cancel ${id} withdraws it).`);
    expect((await send(h, '/pause')).text).toContain(`1 entry order, ${id} (`);
    expect((await send(h, '/resume')).text).toMatch(/^Resumed by /);
    expect((await send(h, `/resume ${SYM}`)).text).toMatch(/^BTC\/USDT resumed by /);
    await confirmed(h, `/cancel ${id}`);
    expect((await send(h, `/pause ${SYM}`)).text).not.toContain('Still working');
    await send(h, `/resume ${SYM}`);
  });

  it('survives a restart; /resume <symbol> lifts it', async () => {
    await h.stop();
    h = await startBot({ dir, config: QUIET, replayFile: h.replay });
    expect((await send(h, '/risk')).text).toMatch(/\nPaused symbols: +ETH\/USDT by /);
    expect((await send(h, `/resume ${SYM}`)).text).toBe(`${SYM} was not paused on its own: nothing to resume.`);
    expect((await send(h, '/resume ETH/USDT')).text).toMatch(/^ETH\/USDT resumed by .+\. New entries on it allowed\.$/);
    expect((await send(h, '/risk')).text).toMatch(/\nPaused symbols: +none\n/);
  });
});
