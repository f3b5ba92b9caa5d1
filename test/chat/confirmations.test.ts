// Confirmations only where something would happen (issue 8, "Needless confirmations").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatUser, startBot, type Harness } from '../helpers/harness.ts';

describe('needless confirmations', () => {
  let h: Harness;
  const admin = chatUser('admin');
  const say = async (text: string) => (await h.bot.dispatcher.handleText(admin, text))!;

  beforeAll(async () => {
    // The slow SMA never warms up: nothing is open unless a test opens it.
    h = await startBot({ candles: 300, config: { strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } } } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('/flatten with nothing open says so at once, without a prompt', async () => {
    const r = await say('/flatten');
    expect(r.buttons).toBeUndefined();
    expect(r.text).toBe('Nothing to do: no open orders, no positions.');
    // With a working order there is something to flatten: it asks.
    const px = h.bot.engine.lastPrice('BTC/USDT');
    h.bot.engine.manualOrder({ symbol: 'BTC/USDT', side: 'buy', qty: 0.001, price: Math.round(px / 2) }, 'test');
    const ask = await say('/flatten');
    expect(ask.title).toBe('Please confirm');
    expect(ask.text).toMatch(/^Cancel 1 open order and close 0 positions at market\?/);
    h.bot.engine.flatten('test');
  });

  it('/risk set to the current value changes nothing and asks nothing', async () => {
    const r = await say('/risk set maxOpenPositions 3');
    expect(r.buttons).toBeUndefined();
    expect(r.text).toBe('maxOpenPositions is already 3: nothing to change.');
    expect((await say('/risk set stopLossPct 2%')).text).toBe('stopLossPct is already 2%: nothing to change.');
    expect((await say('/risk set maxVolatility off')).text).toBe('maxVolatility is already off: nothing to change.');
  });

  it('/alerts mute of a type that is always critical is refused with the reason, and audited so', async () => {
    const r = await say('/alerts mute circuit_breaker 2h');
    expect(r.text).toBe('circuit_breaker alerts are always critical, and critical alerts are never muted: nothing was muted.');
    expect(h.bot.alerts.mutes()).toEqual([]);
    expect(h.bot.journal.recentCommands(1)[0]).toMatchObject({ command: 'alerts', outcome: 'refused' });
  });
});
