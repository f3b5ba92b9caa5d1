// What the bot says about itself at start and in /mode, /status: the data that really feeds it and
// the chat transports that really run.
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { UserError } from '../../src/core/errors.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Bot } from '../../src/app/bot.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { BOT_INFO, FakeTelegram } from '../fakes/telegram-api.ts';
import { chatUser, startBot, tempDir, type Harness } from '../helpers/harness.ts';

describe('the data source named is the one that feeds the bot', () => {
  let h: Harness;
  let csv: string;
  beforeAll(async () => {
    const dir = tempDir();
    csv = join(dir, 'from-cli.csv');
    await generateCsv(csv, 300, 3);
    // The config says live candles; the command line says --replay from-cli.csv --speed max.
    h = await startBot({
      dir,
      config: { data: { source: 'live', exchange: 'binance' } },
      bot: { replay: csv, speed: 'max' },
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('/mode, /status and the start banner all say: a replay of the file from the command line, on candle time', async () => {
    const said = 'replay of from-cli.csv (command line) at full speed, on candle time';
    const mode = await h.bot.dispatcher.handleText(chatUser('viewer'), '/mode');
    expect(mode!.text).toMatch(new RegExp(`Data:\\s+${said.replace(/[.()]/g, '\\$&')}`));
    expect(mode!.text).not.toContain('live candles');
    const status = await h.bot.dispatcher.handleText(chatUser('viewer'), '/status');
    expect(status!.text).toContain(said);
    expect(h.printed()).toContain(`Data: ${said}`);
    expect(h.bot.engine.status().lastCandle['BTC/USDT']!.ts).toBeGreaterThan(0); // it did replay the file
    // /config prints the file's data section (live); it says the command line replaced it.
    const config = await h.bot.dispatcher.handleText(chatUser('admin'), '/config');
    expect(config!.text).toContain(`Data: a replay of ${csv} from the command line (--replay), in place of data.source below.`);
    expect(config!.text).toContain('source: live');
  });
});

describe('start-up names the chat transports that run', () => {
  it('a bot token for a transport that is off gets a warning (and the token is never printed)', async () => {
    const h = await startBot({
      candles: 100,
      bot: { secrets: { telegramBotToken: '123456:SECRET-telegram', discordBotToken: 'SECRET-discord' } },
    });
    try {
      const out = h.printed();
      expect(out).toContain('Chat: none (headless: alerts and reports are only journaled); off: console, Telegram, Discord');
      expect(out).toContain(
        'Warning: TELEGRAM_BOT_TOKEN is set but chat.telegram.enabled is not true: Telegram is OFF. Set chat.telegram.enabled: true to use it.',
      );
      expect(out).toContain('Warning: DISCORD_BOT_TOKEN is set but chat.discord.enabled is not true: Discord is OFF.');
      expect(out).not.toContain('SECRET');
    } finally {
      await h.stop();
    }
  });

  it('the transports that run are listed; no warning when every token is used', async () => {
    const fake = await FakeTelegram.start('777:tok');
    const h = await startBot({
      candles: 100,
      config: {
        chat: {
          console: { enabled: true, role: 'trader' },
          telegram: { enabled: true, pollTimeoutSec: 1, users: [{ id: 1, role: 'admin' }], alertChats: [{ chatId: '-100' }] },
        },
      },
      bot: { secrets: { telegramBotToken: '777:tok', telegramApiRoot: fake.url }, telegram: { botInfo: BOT_INFO } },
    });
    try {
      expect(h.printed()).toContain('Chat: console (trader), Telegram (1 user, 1 alert chat); off: Discord\n');
      expect(h.printed()).not.toContain('Warning:');
    } finally {
      await h.stop();
      await fake.close();
    }
  });

  it('a transport switched on without its token stops the start with a clear error', () => {
    const dir = tempDir();
    const config = parseConfig({
      journal: { path: join(dir, 'j.db') },
      log: { file: join(dir, 'l.log') },
      chat: { console: { enabled: false }, discord: { enabled: true } },
    });
    const make = () => new Bot({ config, logger: silentLogger(), secrets: {}, output: new PassThrough(), input: new PassThrough() });
    expect(make).toThrow(UserError);
    expect(make).toThrow(/chat\.discord\.enabled: true, but DISCORD_BOT_TOKEN is not set/);
  });
});
