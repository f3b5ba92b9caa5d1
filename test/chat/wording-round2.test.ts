// QA round 2 wording: no repeated words, formatted reason numbers, signed PnL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fmt } from '../../src/strategy/builtin/common.ts';
import { chatUser, startBot, type Harness } from '../helpers/harness.ts';

describe('strategy reasons', () => {
  it('strategy reasons print prices with separators, not raw floats', () => {
    expect(`(${fmt(105952.51)} > ${fmt(105943.4)})`).toBe('(105,952.51 > 105,943.40)');
  });
});

describe('chat wording', () => {
  let h: Harness;
  const ask = async (t: string) => (await h.bot.dispatcher.handleText(chatUser('admin'), t))?.text ?? '';
  beforeAll(async () => {
    h = await startBot({ candles: 3000, config: { risk: { maxConsecutiveLosses: 0, minTradeIntervalSec: 0 } } });
  }, 60_000);
  afterAll(() => h.stop());

  it('/buy preview: "accepted — 0.005 BTC", not "accepted — accepted"', async () => {
    const text = await ask('/buy BTC/USDT 0.005');
    expect(text).toMatch(/Risk check now: accepted — /);
    expect(text).not.toMatch(/accepted — accepted/);
  });

  it('a proposal summary names the symbol once: "SELL 0.04717 BTC/USDT"', () => {
    const s = h.bot.approvals.summary({
      request: { symbol: 'BTC/USDT', side: 'sell', type: 'market', qty: 0.04717, tif: 'GTC', reduceOnly: true },
      signal: { symbol: 'BTC/USDT', price: 105000, action: 'exit_long' },
      notional: 4952.85,
    } as never);
    expect(s).toMatch(/^SELL 0\.04717 BTC\/USDT at ~105,000/);
  });

  it('/balance shows unrealized PnL signed, as /status does', async () => {
    const balance = /Unrealized\s*[: ]\s*(\S+)/.exec(await ask('/balance'))?.[1];
    const status = /Unrealized\s*[: ]\s*(\S+)/.exec(await ask('/status'))?.[1];
    expect(balance).toBeDefined();
    expect(balance).toBe(status);
  });
});
