// A live start without --confirm-live waits for an admin's go: the Go live button, or an admin's
// /resume (confirmed). A trader's /resume does not lift it, and the prompt, pressed after trading
// started from chat, says so instead of "stay paused".
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deepMerge } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { Reply } from '../../src/chat/types.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { FakeBybit } from '../fakes/exchange/bybit.ts';
import { chatUser, startBot, tempDir, type Harness } from '../helpers/harness.ts';

const KEY = 'bybit-bot-key-000001';
const SECRET = 'bybit-bot-secret-000001';
const trader = chatUser('trader', 'tom', 'telegram');
const admin = chatUser('admin', 'ada', 'telegram');

describe('the live start waits for an admin', () => {
  let h: Harness;
  let fake: FakeBybit;
  afterAll(async () => {
    await h?.stop();
    await fake?.close();
  });

  it("a trader's /resume is refused; an admin's asks and starts; the old prompt then says trading started", async () => {
    const dir = tempDir('skipper-golive-');
    const csv = join(dir, 'candles.csv');
    await generateCsv(csv, 200, 11, { startPrice: 30_000, volatility: 0.002 });
    fake = await new FakeBybit({
      type: 'perp',
      apiKey: KEY,
      secret: SECRET,
      balances: { USDT: 10_000 },
      prices: { BTCUSDT: 30_000 },
    }).start();
    const live = {
      mode: 'live',
      market: { type: 'perp' },
      exchange: { name: 'bybit', testnet: false, apiUrl: fake.url, websocket: false },
    };
    h = await startBot({
      dir,
      replayFile: csv,
      waitForReplay: false,
      config: deepMerge(live, { strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } } }) as ConfigInput,
      bot: { secrets: { exchangeApiKey: KEY, exchangeApiSecret: SECRET }, confirmLive: false },
    });
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
