// Issue 12's native trailing stops, tried like a trader at the console: a live bot (real ccxt) on the
// local fake Binance USDⓈ-M or fake Bybit linear; /buy, a refused /trail, /trail 1 %, /orders, the venue's
// price runs up 3 % then falls 1.5 %: the venue's trailing stop closes the trade once. Prints the transcript.
//   node --import tsx scripts/must-show-12-native.ts [binance|bybit] > transcript.txt
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCsv } from '../src/market/generator.ts';
import { FakeBinance } from '../test/fakes/exchange/binance.ts';
import { FakeBybit } from '../test/fakes/exchange/bybit.ts';
import { spawnConsoleBot, type ConsoleChild } from '../test/helpers/console-child.ts';
import { tempDir } from '../test/helpers/harness.ts';
import { CHILD_KEY, CHILD_SECRET, consoleLiveBot } from '../test/helpers/live-child.ts';

const venue = process.argv[2] === 'bybit' ? 'bybit' : 'binance';
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function cmd(bot: ConsoleChild, line: string, opts: { confirm?: boolean; ms?: number } = {}): Promise<void> {
  bot.mark();
  say(`\n> ${line}`);
  bot.send(line);
  if (opts.confirm) {
    await bot.waitFor(/\[(\d+)\] Confirm/, 30_000);
    const n = [...bot.since().matchAll(/\[(\d+)\] Confirm/g)].at(-1)![1]!;
    say(bot.since().trimEnd());
    bot.mark();
    say(`> ${n}`);
    bot.send(n);
  }
  await sleep(opts.ms ?? 2500);
  say(bot.since().trimEnd());
}

const dir = tempDir('skipper-native-trail-');
const csv = join(dir, 'candles.csv');
await generateCsv(csv, 20, 3, { startPrice: 30_000, volatility: 0.0005 });
const last = Number(readFileSync(csv, 'utf8').trim().split('\n').at(-1)!.split(',')[4]);
const opts = { type: 'perp' as const, balances: { USDT: 10_000 }, prices: { BTCUSDT: last }, apiKey: CHILD_KEY };
const fake = venue === 'binance' ? await new FakeBinance(opts).start() : await new FakeBybit({ ...opts, secret: CHILD_SECRET }).start();
const botCfg = consoleLiveBot({ dir, csv, venue, type: 'perp', url: fake.url });
const bot = spawnConsoleBot(botCfg.args, botCfg.env);
try {
  await bot.waitFor('replay finished', 90_000);
  say(`[${venue} perps fake at ${fake.url}, BTCUSDT ${last}]`);
  await cmd(bot, '/buy BTC/USDT 0.01', { confirm: true });
  await cmd(bot, '/orders');
  await cmd(bot, '/trail T1 15%');
  await cmd(bot, '/trail T1 1%', { confirm: true });
  await cmd(bot, '/orders');
  say(`\n[venue: price ${last} → ${(last * 1.03).toFixed(1)} (+3 %) → ${(last * 1.03 * 0.985).toFixed(1)} (−1.5 %)]`);
  for (let i = 1; i <= 6; i++) {
    fake.setPrice('BTCUSDT', last * (1 + 0.005 * i));
    await sleep(300);
  }
  for (let i = 1; i <= 6; i++) {
    fake.setPrice('BTCUSDT', last * 1.03 * (1 - 0.0025 * i));
    await sleep(300);
  }
  await sleep(3000);
  await cmd(bot, '/positions');
  await cmd(bot, '/trades');
  await cmd(bot, '/orders');
  const closes = fake.book.trades.filter((t) => t.side === 'SELL');
  say(`\n[venue] sells: ${closes.length} (${closes.map((t) => `${t.qty} @ ${t.price}`).join(', ')})`);
} finally {
  await bot.stop();
  await fake.close();
}
