// /backtest cancel over Telegram: the cancel does not wait behind the backtest in the same chat's queue.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCsv } from '../../src/market/generator.ts';
import { BOT_INFO, FakeTelegram, parseTelegramHtml, type FakeCall } from '../fakes/telegram-api.ts';
import { startBot, tempDir, type Harness } from '../helpers/harness.ts';

const TOKEN = '123456:TEST-token-abc';
const ADMIN = 111;
const sent = ['sendMessage', 'sendPhoto'];
const seen = (c: FakeCall): string => {
  const p = parseTelegramHtml(String(c.body.text ?? c.body.caption ?? ''));
  if (!p.ok) throw new Error(p.error);
  return p.text;
};

describe('/backtest cancel over Telegram', () => {
  let fake: FakeTelegram;
  let h: Harness;
  beforeAll(async () => {
    fake = await FakeTelegram.start(TOKEN);
    fake.addUser({ id: ADMIN, first_name: 'Ada', username: 'ada_admin' });
    const dir = tempDir();
    const big = join(dir, 'big-1m.csv');
    await generateCsv(big, 300_000, 5);
    h = await startBot({
      dir,
      candles: 300,
      config: {
        chat: { telegram: { enabled: true, pollTimeoutSec: 1, users: [{ id: ADMIN, role: 'admin' }] } },
        research: { data: { 'BTC/USDT': big } },
      },
      bot: { secrets: { telegramBotToken: TOKEN, telegramApiRoot: fake.url }, telegram: { botInfo: BOT_INFO } },
    });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    await fake?.close();
  });

  it('is answered at once in the same chat, and the running backtest ends with "cancelled"', async () => {
    const after = fake.mark;
    fake.sendText(ADMIN, '/backtest 3650');
    await new Promise((r) => setTimeout(r, 500));
    fake.sendText(ADMIN, '/backtest cancel');
    const first = await fake.waitFor(sent, () => true, { after, timeoutMs: 10_000 });
    expect(seen(first)).toContain('Cancelling the backtest');
    const second = await fake.waitFor(sent, (c) => c.seq > first.seq, { after, timeoutMs: 60_000 });
    expect(seen(second)).toBe('The backtest was cancelled: no result.');
  }, 120_000);
});
