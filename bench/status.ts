// /status (and the other read commands) end to end over Telegram with 1,000,000 journal rows: from
// the update reaching the bot (the fake Bot API answers its long poll) to the bot's sendMessage
// arriving back. Real grammY, fake Bot API on 127.0.0.1 (test/fakes), a real bot on a paper replay.
import { performance } from 'node:perf_hooks';
import { BOT_INFO, FakeTelegram } from '../test/fakes/telegram-api.ts';
import { startBot } from '../test/helpers/harness.ts';

export interface Percentiles {
  p50ms: number;
  p99ms: number;
  maxMs: number;
}

export interface StatusBench extends Percentiles {
  journalRows: number;
  requests: number;
  seedSeconds: number;
  /** The other read commands, fewer requests each. */
  others: Record<string, Percentiles & { requests: number }>;
}

const TOKEN = '123456:BENCH-token-abcdef';

/** Rows per table, in shares of the total: the tables the read commands and reports look at. */
const SHARES = {
  orders: 0.15,
  order_events: 0.25,
  fills: 0.15,
  decisions: 0.15,
  equity_snapshots: 0.1,
  commands: 0.1,
  positions: 0.075,
  alerts: 0.025,
} as const;

/**
 * `rows` journal rows of history, one a minute back from `now`, written by SQLite itself (a recursive
 * row counter) in one transaction: a million rows in seconds.
 */
function seed(db: import('better-sqlite3').Database, rows: number, now: number): void {
  const n = (t: keyof typeof SHARES) => Math.floor(rows * SHARES[t]);
  const ins = (table: keyof typeof SHARES, cols: string, select: string) =>
    db
      .prepare(
        `insert into ${table} (${cols}) with recursive n(i) as (select 0 union all select i + 1 from n where i < ? - 1) select ${select} from n`,
      )
      .run(n(table));
  const ts = (step = 60_000) => `${now} - (i + 1) * ${step}`;
  db.transaction(() => {
    ins(
      'orders',
      'client_order_id, venue, symbol, side, type, tif, qty, reduce_only, status, filled_qty, avg_price, fee, created_at, updated_at',
      `'seed-' || i, 'paper', 'BTC/USDT', 'buy', 'market', 'GTC', 0.01, 0, case when i % 50 = 0 then 'canceled' else 'filled' end, 0.01, 100, 0.1, ${ts()}, ${ts()}`,
    );
    ins('order_events', 'client_order_id, ts, from_status, to_status', `'seed-' || (i / 2), ${ts(30_000)}, 'new', 'filled'`);
    ins(
      'fills',
      'venue, trade_id, client_order_id, symbol, side, price, qty, fee, fee_currency, liquidity, ts, realized_pnl, cash_delta',
      `'seed', 'seed-' || i, 'seed-' || i, 'BTC/USDT', case when i % 2 = 0 then 'buy' else 'sell' end, 100, 0.01, 0.001, 'USDT', 'taker', ${ts()}, 0, 0`,
    );
    ins(
      'decisions',
      'ts, symbol, strategy, action, price, reason, verdict, verdict_rule, verdict_reason',
      `${ts()}, 'BTC/USDT', 'seed', 'enter_long', 100, 'seed', 'accept', 'ok', 'seed'`,
    );
    ins('equity_snapshots', 'ts, equity, cash, unrealized_pnl, exposure', `${ts()}, 10000, 10000, 0, 0`);
    ins('commands', 'ts, transport, user_id, command, outcome', `${ts()}, 'telegram', '1', 'status', 'ok'`);
    ins(
      'positions',
      'symbol, side, status, qty, max_qty, entry_price, exit_price, realized_pnl, fees, opened_at, closed_at, strategy',
      `'BTC/USDT', 'long', 'closed', 0.01, 0.01, 100, 101, 0.01, 0.002, ${ts(120_000)} - 60000, ${ts(120_000)}, 'seed'`,
    );
    ins('alerts', 'ts, type, severity, title, message, delivery', `${ts(600_000)}, 'seed', 'info', 'seed', 'seed', 'sent'`);
  })();
  // A journal that grew over months has a small WAL: fold the seed in, as the bot's checkpoints would.
  db.pragma('wal_checkpoint(TRUNCATE)');
}

const pct = (times: number[]): Percentiles => {
  const t = [...times].sort((a, b) => a - b);
  const at = (p: number) => t[Math.min(t.length - 1, Math.floor(p * t.length))]!;
  return { p50ms: at(0.5), p99ms: at(0.99), maxMs: t[t.length - 1]! };
};

export async function benchStatus(requests = 300, rows = 1_000_000, otherRequests = 100): Promise<StatusBench> {
  const fake = await FakeTelegram.start(TOKEN);
  fake.addUser({ id: 42, first_name: 'Ada', username: 'ada' });
  const h = await startBot({
    candles: 2000,
    config: { chat: { telegram: { enabled: true, pollTimeoutSec: 30, users: [{ id: 42, role: 'admin' }] } } },
    bot: { secrets: { telegramBotToken: TOKEN, telegramApiRoot: fake.url }, telegram: { botInfo: BOT_INFO } },
  });
  const t0 = performance.now();
  seed(h.bot.journal.sqlite, rows, h.bot.engine.status().now);
  const seedSeconds = (performance.now() - t0) / 1000;
  // Let the bot settle first (the replay's day-end reports go out to the chat): a reply is then the
  // command's, not a report's.
  for (let calls = -1; calls !== fake.mark;) {
    calls = fake.mark;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const ask = async (text: string, n: number): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < n + 20; i++) {
      const after = fake.mark;
      const t = performance.now();
      fake.sendText(42, text);
      await fake.waitFor('sendMessage', () => true, { after });
      if (i >= 20) times.push(performance.now() - t); // the first ones warm the JIT up
    }
    return times;
  };
  let status: number[];
  const others: StatusBench['others'] = {};
  try {
    status = await ask('/status', requests);
    for (const c of ['/positions', '/pnl', '/orders', '/trades'])
      others[c] = { ...pct(await ask(c, otherRequests)), requests: otherRequests };
  } finally {
    await h.stop();
    await fake.close();
  }
  return { journalRows: rows, requests: status.length, seedSeconds, ...pct(status), others };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchStatus()));
