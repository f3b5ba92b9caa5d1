// A live start without --confirm-live waits for an admin's go: the Go live button, or an admin's
// /resume (confirmed). A trader's /resume does not lift it, and the prompt, pressed after trading
// started from chat, says so instead of "stay paused".
import { afterAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../src/chat/types.ts';
import { bybitBot, type BybitBot } from '../helpers/bybit-bot.ts';
import { chatUser } from '../helpers/harness.ts';

const trader = chatUser('trader', 'tom', 'telegram');
const admin = chatUser('admin', 'ada', 'telegram');

describe('the live start waits for an admin', () => {
  let b: BybitBot;
  afterAll(() => b?.close());

  it("a trader's /resume is refused; an admin's asks and starts; the old prompt then says trading started", async () => {
    b = await bybitBot({
      type: 'perp',
      prefix: 'skipper-golive-',
      candles: 200,
      seed: 11,
      volatility: 0.002,
      config: { exchange: { testnet: false }, strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } } },
      waitForReplay: false,
      confirmLive: false,
    });
    const h = b.h;
    const send = async (text: string, user = trader): Promise<Reply> => (await h.bot.dispatcher.handleText(user, text))!;
    expect((await send('/risk')).text).toContain('paused by live start: waiting for an admin to confirm');
    // The first connect is part of the start: its reconciliation is journaled as the start-up one.
    expect(h.bot.journal.recentReconciliations(10).map((r) => r.trigger)).toEqual(['startup']);

    const refused = await send('/resume');
    expect(refused.text).toBe("Not resumed: live trading starts with an admin's go (the Go live button, or an admin's /resume).");
    expect(h.bot.engine.risk.state().paused).toBe(true);

    const ask = await send('/resume', admin);
    expect(ask.text).toMatch(/^Start trading LIVE — REAL MONEY now\? The bot is waiting for an admin's go/);
    const yes = ask.buttons!.flat().find((b) => b.label === 'Confirm')!;
    const done = await h.bot.dispatcher.handleButton(admin, yes.data);
    expect(done.edit?.text).toMatch(/^Resumed by ada\. New entries allowed\./);
    expect(h.bot.engine.risk.state().paused).toBe(false);

    // The go-live prompt is still on the admins' screens: pressing "Stay paused" now must not claim it stays paused.
    const nonce = (h.bot as unknown as { goLive: { nonce?: string } }).goLive.nonce;
    const late = await h.bot.dispatcher.handleButton(admin, `L:${nonce}:n`);
    expect(late.toast).toBe('Live trading had already been started from chat: nothing changed.');
    expect(h.bot.engine.risk.state().paused).toBe(false);
  });
});
