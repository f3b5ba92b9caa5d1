// /reload over Telegram (real grammY, fake Bot API): new users and alert chats take effect at once.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REFUSAL } from '../../src/chat/dispatcher.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { BOT_INFO, FakeTelegram, parseTelegramHtml, type FakeCall } from '../fakes/telegram-api.ts';
import { startBot, tempDir, type Harness } from '../helpers/harness.ts';

const TOKEN = '123456:TEST-token-reload';
const ADMIN = 111;
const NEWCOMER = 222;
const GROUP = -100555;
const sent = ['sendMessage', 'sendPhoto', 'sendDocument'];
const chatIs = (id: number) => (c: FakeCall) => String(c.body.chat_id) === String(id);
const seen = (c: FakeCall): string => {
  const p = parseTelegramHtml(String(c.body.text ?? c.body.caption ?? ''));
  if (!p.ok) throw new Error(p.error);
  return p.text;
};

describe('/reload over Telegram', () => {
  let fake: FakeTelegram;
  let h: Harness;
  let file: string;
  let base: Record<string, unknown>;
  const ask = async (userId: number, text: string): Promise<FakeCall> => {
    const after = fake.mark;
    fake.sendText(userId, text);
    return fake.waitFor(sent, chatIs(userId), { after });
  };

  beforeAll(async () => {
    fake = await FakeTelegram.start(TOKEN);
    fake.addUser({ id: ADMIN, first_name: 'Ada', username: 'ada' });
    fake.addUser({ id: NEWCOMER, first_name: 'Nia', username: 'nia' });
    const dir = tempDir();
    const replay = join(dir, 'candles.csv');
    await generateCsv(replay, 200, 3);
    file = join(dir, 'skipper.yaml');
    base = {
      journal: { path: join(dir, 'skipper.db') },
      log: { file: join(dir, 'skipper.log') },
      data: { source: 'replay', replayFile: replay },
      chat: { console: { enabled: false }, telegram: { enabled: true, pollTimeoutSec: 1, users: [{ id: ADMIN, role: 'admin' }] } },
    };
    writeFileSync(file, stringify(base));
    h = await startBot({
      dir,
      replayFile: replay,
      config: loadConfig(file) as ConfigInput,
      bot: { configFile: file, secrets: { telegramBotToken: TOKEN, telegramApiRoot: fake.url }, telegram: { botInfo: BOT_INFO } },
    });
  });
  afterAll(async () => {
    await h?.stop();
    await fake?.close();
  });

  it('a user added to the file acts after /reload, and the announcement reaches the new alert chat', async () => {
    expect(seen(await ask(NEWCOMER, '/status'))).toBe(REFUSAL);
    const chat = base.chat as { telegram: Record<string, unknown> };
    writeFileSync(
      file,
      stringify({
        ...base,
        chat: {
          ...chat,
          telegram: {
            ...chat.telegram,
            users: [
              { id: ADMIN, role: 'admin' },
              { id: NEWCOMER, role: 'viewer' },
            ],
            alertChats: [{ chatId: GROUP }],
          },
        },
      }),
    );
    const prompt = await ask(ADMIN, '/reload');
    expect(seen(prompt)).toMatch(/^Please confirm\nApply 2 changes .*chat\.telegram\.alertChats.*chat\.telegram\.users/s);
    const data = (prompt.body.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard
      .flat()
      .find((b) => b.text === 'Confirm')!.callback_data;
    const after = fake.mark;
    fake.pressButton(ADMIN, (prompt.response as { result: { message_id: number } }).result.message_id, data);
    const announced = await fake.waitFor(sent, chatIs(GROUP), { after });
    expect(seen(announced)).toMatch(/Config reloaded/);
    expect(seen(await ask(NEWCOMER, '/status'))).not.toBe(REFUSAL);
    expect(seen(await ask(NEWCOMER, '/pause'))).toBe('/pause needs the trader role; you are a viewer.');
  });
});
