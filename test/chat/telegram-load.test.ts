// Many Telegram calls at once (an alert burst, several chats answering together) with the real
// grammY against the fake Bot API: no listener piles up on a shared AbortSignal.
import { afterEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { Dispatcher } from '../../src/chat/dispatcher.ts';
import type { Services } from '../../src/chat/services.ts';
import { TelegramTransport } from '../../src/chat/telegram.ts';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { BOT_INFO, FakeTelegram } from '../fakes/telegram-api.ts';

const TOKEN = '123456:LOAD-token-abc';
const CHATS = [-1001, -1002, -1003, -1004];

describe('Telegram under chat load', () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  afterEach(() => {
    process.off('warning', onWarning);
  });

  it('40 concurrent broadcasts to 4 chats: all delivered, no MaxListenersExceededWarning', async () => {
    process.on('warning', onWarning);
    const fake = await FakeTelegram.start(TOKEN);
    const config = parseConfig({
      chat: { telegram: { enabled: true, pollTimeoutSec: 1, alertChats: CHATS.map((chatId) => ({ chatId: String(chatId) })) } },
    }).chat.telegram;
    const log = silentLogger();
    const t = new TelegramTransport({
      token: TOKEN,
      apiRoot: fake.url,
      config,
      dispatcher: new Dispatcher([], {} as Services, log),
      commands: COMMANDS,
      log,
      botInfo: BOT_INFO,
    });
    try {
      await t.start();
      const refs = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          t.broadcast({ title: `Alert ${i}`, text: 'burst' }, { type: 'order_filled', severity: 'info' }),
        ),
      );
      expect(refs.flat()).toHaveLength(160);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
    } finally {
      await t.stop();
      await fake.close();
    }
  });
});
