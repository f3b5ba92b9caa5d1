// /status end to end over Telegram with 100,000 journal rows: from the update reaching the bot
// (the fake Bot API answers its long poll) to the bot's sendMessage arriving back. Real grammY,
// fake Bot API on 127.0.0.1 (test/fakes), a real bot on a paper replay.
import { performance } from 'node:perf_hooks';
import { BOT_INFO, FakeTelegram } from '../test/fakes/telegram-api.ts';
import { startBot } from '../test/helpers/harness.ts';

export interface StatusBench {
  journalRows: number;
  requests: number;
  p50ms: number;
  p99ms: number;
  maxMs: number;
}

const TOKEN = '123456:BENCH-token-abcdef';

function seed(db: import('better-sqlite3').Database, rows: number): void {
  const per = Math.floor(rows / 4);
  db.transaction(() => {
    const o = db.prepare(
      `insert into orders (client_order_id, venue, symbol, side, type, tif, qty, reduce_only, status, filled_qty, avg_price, fee, created_at, updated_at)
       values (?, 'paper', 'BTC/USDT', 'buy', 'market', 'GTC', 0.01, 0, 'filled', 0.01, 100, 0.1, ?, ?)`,
    );
    const f = db.prepare(
      `insert into fills (venue, trade_id, client_order_id, symbol, side, price, qty, fee, fee_currency, liquidity, ts) values ('seed', ?, ?, 'BTC/USDT', 'buy', 100, 0.01, 0.1, 'USDT', 'taker', ?)`,
    );
    const d = db.prepare(
      `insert into decisions (ts, symbol, strategy, action, price, reason, verdict, verdict_rule, verdict_reason) values (?, 'BTC/USDT', 'seed', 'enter_long', 100, 'seed', 'accept', 'ok', 'seed')`,
    );
    const c = db.prepare(`insert into commands (ts, transport, user_id, command, outcome) values (?, 'telegram', '1', 'status', 'ok')`);
    for (let i = 0; i < per; i++) {
      o.run(`seed-${i}`, i, i);
      f.run(`seed-${i}`, `seed-${i}`, i);
      d.run(i);
      c.run(i);
    }
  })();
}

export async function benchStatus(requests = 300, rows = 100_000): Promise<StatusBench> {
  const fake = await FakeTelegram.start(TOKEN);
  fake.addUser({ id: 42, first_name: 'Ada', username: 'ada' });
  const h = await startBot({
    candles: 2000,
    config: { chat: { telegram: { enabled: true, pollTimeoutSec: 30, users: [{ id: 42, role: 'admin' }] } } },
    bot: { secrets: { telegramBotToken: TOKEN, telegramApiRoot: fake.url }, telegram: { botInfo: BOT_INFO } },
  });
  seed(h.bot.journal.sqlite, rows);
  const times: number[] = [];
  try {
    for (let i = 0; i < requests + 20; i++) {
      const after = fake.mark;
      const t0 = performance.now();
      fake.sendText(42, '/status');
      await fake.waitFor('sendMessage', () => true, { after });
      if (i >= 20) times.push(performance.now() - t0); // the first ones warm the JIT up
    }
  } finally {
    await h.stop();
    await fake.close();
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  return { journalRows: rows, requests: times.length, p50ms: pct(0.5), p99ms: pct(0.99), maxMs: times[times.length - 1]! };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchStatus()));
