// Throwaway: the bot as a child process on the fake Telegram; a trader's few steps, printed.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { FakeTelegram } from '../test/fakes/telegram-api.ts';

const TOKEN = '123456:ABCDEF';
const fake = await FakeTelegram.start(TOKEN);
const ADA = 1001;
fake.addUser({ id: ADA, first_name: 'Ada', username: 'ada' } as never);
const dir = '/tmp/tg';
const cfg = {
  journal: { path: `${dir}/s.db` },
  log: { file: `${dir}/s.log` },
  chat: { console: { enabled: false }, telegram: { enabled: true, users: [{ id: ADA, role: 'admin', name: 'ada' }], alertChats: [{ chatId: ADA }], pollTimeoutSec: 1 } },
  market: { symbols: ['ETH/USDT'], timeframe: '1m' },
  approvals: { mode: 'always', timeoutSec: 60 },
  risk: { maxConsecutiveLosses: 2 },
};
writeFileSync(`${dir}/c.json`, JSON.stringify(cfg));
const start = () =>
  spawn(process.execPath, ['--max-semi-space-size=8', 'bin/skipper.js', 'run', '--config', `${dir}/c.json`, '--replay', process.argv[2]!, '--speed', '2000'], {
    env: { ...process.env, TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: fake.url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const texts = () => fake.callsOf('sendMessage').map((c) => String(c.body.text));
let shown = 0;
const show = (label: string) => {
  const t = texts();
  console.log(`---- ${label}`);
  for (const x of t.slice(shown)) console.log(x.length > 700 ? x.slice(0, 700) + ' …' : x, '\n');
  shown = t.length;
};
let bot = start();
await sleep(4000);
show('after start');
fake.sendText(ADA, '/status');
await sleep(1500);
show('/status');
// Approve the first proposal with its button.
const withButtons = () => fake.callsOf('sendMessage').filter((c) => JSON.stringify(c.body.reply_markup ?? '').includes('callback_data'));
for (let i = 0; i < 40 && withButtons().length === 0; i++) await sleep(500);
const prop = withButtons()[0];
if (prop) {
  const kb = (prop.body.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard;
  const msgId = (prop.response as { result: { message_id: number } }).result.message_id;
  fake.pressButton(ADA, msgId, kb[0]![0]!.callback_data);
  await sleep(2500);
}
show('approve');
fake.sendText(ADA, '/flatten');
await sleep(1500);
show('/flatten');
bot.kill('SIGKILL');
await sleep(500);
bot = start();
await sleep(4000);
show('after SIGKILL + restart');
fake.sendText(ADA, '/positions');
await sleep(1500);
show('/positions');
bot.kill('SIGTERM');
await sleep(2000);
await fake.close();
