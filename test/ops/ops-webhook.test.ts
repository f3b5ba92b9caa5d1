// Telegram webhook mode: the fake Bot API posts updates to the bot's webhook with the secret token,
// like Telegram; requests without the right secret are refused and change nothing.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { UserError } from '../../src/core/errors.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Bot } from '../../src/app/bot.ts';
import type { TelegramWebhook } from '../../src/ops/telegram-webhook.ts';
import { BOT_INFO, FakeTelegram } from '../fakes/telegram-api.ts';
import { startBot, tempDir, type Harness } from '../helpers/harness.ts';

const TOKEN = '123456:TEST-token-webhook';
const SECRET = 'webhook-secret_0123456789';
const ADMIN = 111;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const update = (id: number, text: string) => ({
  update_id: id,
  message: {
    message_id: 9000 + id,
    date: 1,
    chat: { id: ADMIN, type: 'private', first_name: 'Ada' },
    from: { id: ADMIN, is_bot: false, first_name: 'Ada' },
    text,
    entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }],
  },
});

describe('Telegram webhook mode', () => {
  let fake: FakeTelegram;
  let h: Harness;
  let port: number;
  let url: string;

  beforeAll(async () => {
    fake = await FakeTelegram.start(TOKEN);
    fake.addUser({ id: ADMIN, first_name: 'Ada' });
    port = await freePort();
    url = `http://127.0.0.1:${port}/telegram/hook`;
    h = await startBot({
      candles: 300,
      config: {
        chat: { telegram: { enabled: true, users: [{ id: ADMIN, role: 'admin' }], webhook: { url, listen: { host: '127.0.0.1', port } } } },
      },
      bot: {
        secrets: { telegramBotToken: TOKEN, telegramApiRoot: fake.url, telegramWebhookSecret: SECRET },
        telegram: { botInfo: BOT_INFO },
      },
    });
  });

  afterAll(async () => {
    await h.stop();
    await fake.close();
  });

  it('registers the webhook with its secret and never long-polls', () => {
    const [set] = fake.callsOf('setWebhook');
    expect(set!.body).toMatchObject({ url, secret_token: SECRET, allowed_updates: ['message', 'callback_query'] });
    expect(fake.callsOf('getUpdates')).toHaveLength(0);
    expect(fake.callsOf('deleteWebhook')).toHaveLength(0);
  });

  it('updates Telegram posts with the secret are handled', async () => {
    const mark = fake.mark;
    fake.sendText(ADMIN, '/whoami');
    const reply = await fake.waitFor('sendMessage', (c) => String(c.body.chat_id) === String(ADMIN), { after: mark });
    expect(String(reply.body.text)).toContain('admin');
    for (let i = 0; i < 100 && fake.webhookDeliveries.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fake.webhookDeliveries).toEqual([{ updateId: expect.any(Number), status: 200 }]);
  });

  it('a request with a wrong or missing secret is refused and executes nothing', async () => {
    const audit = () => h.bot.journal.count('commands');
    const before = { audit: audit(), calls: fake.calls.length, paused: h.bot.engine.status().paused };
    const post = (headers: Record<string, string>, body: unknown, path = '/telegram/hook') =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }).then((r) => r.status);
    expect(await post({}, update(5001, '/pause'))).toBe(401);
    expect(await post({ 'x-telegram-bot-api-secret-token': 'wrong' }, update(5002, '/pause'))).toBe(401);
    expect(await post({ 'x-telegram-bot-api-secret-token': `${SECRET}x` }, update(5003, '/pause'))).toBe(401);
    expect(await post({ 'x-telegram-bot-api-secret-token': SECRET }, update(5004, '/pause'), '/other')).toBe(404);
    expect(await fetch(`http://127.0.0.1:${port}/telegram/hook`).then((r) => r.status)).toBe(405);
    await new Promise((r) => setTimeout(r, 200));
    expect((h.bot.telegram!.opts.webhook as TelegramWebhook).refused).toBe(3);
    expect({ audit: audit(), calls: fake.calls.length, paused: h.bot.engine.status().paused }).toEqual(before);

    // The same update with the secret is a real command (it asks for confirmation).
    const mark = fake.mark;
    expect(await post({ 'x-telegram-bot-api-secret-token': SECRET }, update(5005, '/pause'))).toBe(200);
    await fake.waitFor('sendMessage', (c) => String(c.body.chat_id) === String(ADMIN), { after: mark });
    expect(audit()).toBe(before.audit + 1);
  });

  it('garbage with the right secret is a 400, and the bot carries on', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/telegram/hook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
      body: '{not json',
    });
    expect(res.status).toBe(400);
    const mark = fake.mark;
    fake.sendText(ADMIN, '/mode');
    await fake.waitFor('sendMessage', (c) => String(c.body.chat_id) === String(ADMIN), { after: mark });
  });
});

describe('Telegram webhook configuration', () => {
  it('needs TELEGRAM_WEBHOOK_SECRET; long polling stays the default', () => {
    const dir = tempDir();
    const cfg = parseConfig({
      journal: { path: `${dir}/j.db` },
      log: { file: `${dir}/l.log` },
      chat: { console: { enabled: false }, telegram: { enabled: true, webhook: { url: 'https://bot.example.com/tg' } } },
    });
    expect(cfg.chat.telegram.webhook).toEqual({ url: 'https://bot.example.com/tg', listen: { host: '127.0.0.1', port: 8443 } });
    expect(() => new Bot({ config: cfg, logger: silentLogger(), secrets: { telegramBotToken: TOKEN } })).toThrow(UserError);
    expect(() => new Bot({ config: cfg, logger: silentLogger(), secrets: { telegramBotToken: TOKEN } })).toThrow(/TELEGRAM_WEBHOOK_SECRET/);
    expect(parseConfig({}).chat.telegram.webhook).toBeUndefined();
  });
});
