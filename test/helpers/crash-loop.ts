// Crash-safety loop: the bot runs as a child process in live mode against the fake Binance; it is
// SIGKILLed at random instants and started again, many times; then the journal is compared with the
// venue. Used by test/app/live-crash.test.ts (≥ 30 kills) and scripts/soak.ts (as many as you like).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { mulberry32 } from '../../src/market/generator.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { FakeBinance } from '../fakes/exchange/binance.ts';
import { tempDir } from './harness.ts';

export interface CrashLoopOptions {
  kills: number;
  seed?: number;
  /** Candles in the replay that drives the strategy (20 candles/s). */
  candles?: number;
  log?: (line: string) => void;
}

export interface CrashLoopResult {
  kills: number;
  runs: number;
  ordersSent: number;
  duplicateClientOrderIds: string[];
  venueTrades: number;
  journalFills: number;
  /** Venue trades missing from the journal, and journal fills the venue never made. */
  missingFills: string[];
  extraFills: string[];
  duplicateFills: string[];
  venue: { usdt: number; btc: number };
  journal: { cash: number; btc: number };
  reconciliations: Array<{ trigger: string; status: string; summary: string }>;
  unresolvedOrders: string[];
}

const KEY = 'crash-test-key-0001';
const SECRET = 'crash-test-secret-0001';
const RECV_WINDOW_MS = 2000;

export async function crashLoop(o: CrashLoopOptions): Promise<CrashLoopResult> {
  const log = o.log ?? (() => {});
  const rand = mulberry32(o.seed ?? 7);
  const dir = tempDir('skipper-crash-');
  const csv = join(dir, 'candles.csv');
  await generateCsv(csv, o.candles ?? 400, o.seed ?? 7, { startPrice: 30_000, volatility: 0.003 });

  const fake = await new FakeBinance({ type: 'spot', balances: { USDT: 10_000 }, prices: { BTCUSDT: 30_000 }, apiKey: KEY }).start();
  // Orders take a moment to be acknowledged, so kills land between submit and ack too.
  fake.inject({ kind: 'delay', method: 'POST', path: '/api/v3/order', ms: 120, times: Infinity });
  // The venue's market moves on its own: resting stops and limits trigger while the bot is down.
  let price = 30_000;
  const walk = setInterval(() => {
    price = Math.max(1000, Math.round(price * (1 + (rand() - 0.5) * 0.004) * 10) / 10);
    fake.setPrice('BTCUSDT', price);
  }, 25);

  const cfg = join(dir, 'live.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      mode: 'live',
      exchange: {
        name: 'binance',
        testnet: true,
        apiUrl: fake.url,
        websocket: false,
        pollSec: 1,
        recvWindowMs: RECV_WINDOW_MS,
        reconcileEverySec: 10,
      },
      data: { source: 'replay', replayFile: csv, speed: 1200 },
      strategy: { name: 'sma-cross', params: { fast: 2, slow: 3 } },
      risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, maxConsecutiveErrors: 0, maxDailyDrawdown: 1, maxTradesPer24h: 10_000 },
      journal: { path: join(dir, 'skipper.db') },
      log: { file: join(dir, 'skipper.log'), level: 'debug' },
      chat: { console: { enabled: false } },
    }),
  );

  const env = { ...process.env, EXCHANGE_API_KEY: KEY, EXCHANGE_API_SECRET: SECRET };
  const runOnce = (killAfterMs: number | null) =>
    new Promise<{ killed: boolean; code: number | null; out: string }>((resolve) => {
      const p = spawn(process.execPath, ['bin/skipper.js', 'run', '--config', cfg, '--confirm-live', '--exit-when-done'], {
        cwd: PROJECT_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let armed = killAfterMs;
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (armed !== null && out.includes('Type /help')) {
          setTimeout(() => p.kill('SIGKILL'), armed);
          armed = null;
        }
      });
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      p.on('close', (code, signal) => resolve({ killed: signal === 'SIGKILL', code, out }));
    });

  let kills = 0;
  let runs = 0;
  try {
    while (kills < o.kills) {
      const r = await runOnce(Math.round(30 + rand() * 570));
      runs++;
      if (r.killed) kills++;
      else if (r.code !== 0) throw new Error(`bot exited with ${r.code}:\n${r.out.slice(-2000)}`);
      log(`run ${runs}: ${r.killed ? 'killed' : 'finished'} (${kills}/${o.kills} kills)`);
    }
    // Let the replay finish, then wait out the receive window so orders that never left are final.
    const done = await runOnce(null);
    runs++;
    if (done.code !== 0) throw new Error(`final run exited with ${done.code}:\n${done.out.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, RECV_WINDOW_MS + 5_500));
    const last = await runOnce(null);
    runs++;
    if (last.code !== 0) throw new Error(`last run exited with ${last.code}:\n${last.out.slice(-2000)}`);
  } finally {
    clearInterval(walk);
  }

  const sent = fake.sentClientOrderIds();
  const seen = new Set<string>();
  const duplicateClientOrderIds = sent.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
  const venueTrades = fake.book.trades.map((t) => `${t.symbol}:${t.id}`);
  const bal = (a: string) => {
    const b = fake.book.bal(a);
    return b.free + b.locked;
  };
  await fake.close();

  const db = new Database(join(dir, 'skipper.db'), { readonly: true });
  const q = <T>(sql: string) => db.prepare(sql).all() as T[];
  const fills = q<{ trade_id: string }>("select trade_id from fills where venue = 'binance'").map((r) => r.trade_id);
  const fillSet = new Set(fills);
  const fillSeen = new Set<string>();
  const account = JSON.parse(q<{ value: string }>("select value from runtime_state where key = 'account'")[0]!.value) as {
    startingCash: number;
  };
  const flows = q<{ c: number }>('select coalesce(sum(cash_delta), 0) c from fills')[0]!.c;
  const adj = q<{ value: string }>("select value from runtime_state where key = 'cash_adjustments'")[0];
  const btc = q<{ q: number }>("select coalesce(sum(qty), 0) q from positions where status = 'open' and symbol = 'BTC/USDT'")[0]!.q;
  const result: CrashLoopResult = {
    kills,
    runs,
    ordersSent: sent.length,
    duplicateClientOrderIds,
    venueTrades: venueTrades.length,
    journalFills: fills.length,
    missingFills: venueTrades.filter((t) => !fillSet.has(t)),
    extraFills: fills.filter((f) => !venueTrades.includes(f)),
    duplicateFills: fills.filter((f) => (fillSeen.has(f) ? true : (fillSeen.add(f), false))),
    venue: { usdt: bal('USDT'), btc: bal('BTC') },
    journal: { cash: account.startingCash + flows + (adj ? Number(JSON.parse(adj.value)) : 0), btc },
    reconciliations: q<{ trigger: string; status: string; summary: string }>(
      'select trigger, status, summary from reconciliations order by id',
    ),
    unresolvedOrders: q<{ client_order_id: string }>(
      "select client_order_id from orders where status in ('new', 'submitted', 'unknown')",
    ).map((r) => r.client_order_id),
  };
  db.close();
  return result;
}
