// Issue 12's must-show, driven like a trader at the console: a paper replay of the real BTC 1m file;
// /buy, /sl, /trail, /close 50%, /buy … twap 10m, with /positions and /orders after each step; a kill -9
// while the TWAP runs, a restart, and the journal checked for duplicates. Prints the transcript.
//   node --import tsx scripts/must-show-12.ts [CSV] > transcript.txt
import { writeFileSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { spawnConsoleBot, type ConsoleChild } from '../test/helpers/console-child.ts';

const csv = resolve(process.argv[2] ?? '../shared/data/binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv');
if (!existsSync(csv)) throw new Error(`no candle file at ${csv}`);
const dir = mkdtempSync(join(tmpdir(), 'skipper-must-show-'));
const db = join(dir, 'skipper.db');
const cfg = join(dir, 'paper.json');
writeFileSync(
  cfg,
  JSON.stringify({
    data: { source: 'replay', replayFile: csv, speed: 60 },
    // A strategy that stays out of the way (RSI never leaves 1–99 for long): only the trader trades here.
    strategy: { name: 'rsi-reversion', params: { period: 14, oversold: 1, overbought: 99 } },
    journal: { path: db },
    log: { file: join(dir, 'skipper.log') },
    chat: { console: { enabled: true, role: 'admin' } },
  }),
);

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Type a command, print it and what came back within `ms`. */
async function cmd(bot: ConsoleChild, line: string, opts: { confirm?: boolean; ms?: number } = {}): Promise<string> {
  bot.mark();
  say(`\n> ${line}`);
  bot.send(line);
  let text = '';
  if (opts.confirm) {
    await bot.waitFor(/\[(\d+)\] Confirm/, 30_000);
    text += bot.since();
    const n = [...bot.since().matchAll(/\[(\d+)\] Confirm/g)].at(-1)![1]!;
    bot.mark();
    say(text.trimEnd());
    say(`> ${n}`);
    bot.send(n);
  }
  await sleep(opts.ms ?? 1500);
  const out = bot.since().trimEnd();
  say(out);
  return text + out;
}

function journalCheck(): void {
  const d = new Database(db, { readonly: true });
  try {
    const dups = d.prepare(`select client_order_id, count(*) n from orders group by 1 having n > 1`).all();
    const orders = d.prepare(`select count(*) n from orders`).get() as { n: number };
    const fills = d.prepare(`select count(*) n, count(distinct trade_id) d from fills`).get() as { n: number; d: number };
    say(`\n[journal] ${orders.n} orders, duplicate client order ids: ${dups.length === 0 ? 'none' : JSON.stringify(dups)}`);
    say(`[journal] ${fills.n} fills, ${fills.d} distinct trade ids`);
  } finally {
    d.close();
  }
}

async function main(): Promise<void> {
  say(`# must-show 12: paper replay of ${csv} at 60×, console chat; journal ${db}`);
  let bot = spawnConsoleBot(['--config', cfg]);
  await bot.waitFor('Type /help for commands', 120_000);
  say(bot.out().trimEnd());
  await sleep(3000); // a few candles
  await cmd(bot, '/buy BTC/USDT 0.05', { confirm: true, ms: 3000 });
  const pos = await cmd(bot, '/positions');
  const id = /\bT(\d+)\b/.exec(pos)?.[0] ?? 'T1';
  await cmd(bot, '/orders');
  await cmd(bot, `/sl ${id} -2%`, { confirm: true });
  await cmd(bot, '/positions');
  await cmd(bot, '/orders');
  await cmd(bot, `/trail ${id} 1.5%`, { confirm: true });
  await cmd(bot, '/positions');
  await cmd(bot, `/close ${id} 50%`, { confirm: true, ms: 3000 });
  await cmd(bot, '/positions');
  await cmd(bot, '/orders');
  await cmd(bot, '/buy BTC/USDT 0.02 twap 10m', { confirm: true, ms: 3500 });
  await cmd(bot, '/orders');
  const before = await cmd(bot, '/positions');
  say('\n[kill -9 while the TWAP runs]');
  await bot.kill9();
  journalCheck();
  bot = spawnConsoleBot(['--config', cfg]);
  await bot.waitFor('Type /help for commands', 120_000);
  say(bot.out().trimEnd());
  await cmd(bot, '/positions', { ms: 500 });
  await cmd(bot, '/orders', { ms: 500 });
  await sleep(2000); // the candles processed before the kill replay at once (they only warm the strategy up)
  await cmd(bot, '/positions');
  await sleep(10_000); // the rest of the TWAP (one slice a candle-minute = 1 s at 60×)
  await cmd(bot, '/orders');
  await cmd(bot, '/positions');
  await cmd(bot, '/trades');
  await bot.stop();
  journalCheck();
  say(`\n[before the kill]\n${before.trim()}`);
}

void main().catch((e: unknown) => {
  say(`FAILED: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
