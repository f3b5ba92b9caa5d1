// The real `skipper run` in live mode as a child process, trading on a local fake Binance (the fake
// lives in the test process, so its book and request log can be watched while the bot runs).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { deepMerge } from '../../src/config/load.ts';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { FakeBinance } from '../fakes/exchange/binance.ts';
import { spawnConsoleBot, type ConsoleChild } from './console-child.ts';
import { tempDir } from './harness.ts';
import { until } from './venue-time.ts';

export const CHILD_KEY = 'child-test-key-0001';
export const CHILD_SECRET = 'child-test-secret-0001';

export interface LiveChild {
  proc: ChildProcess;
  dbPath: string;
  /** stdout and stderr so far. */
  out(): string;
  /** Resolves once the output matches (rejects if the process exits first or after `ms`). */
  waitFor(what: string | RegExp, ms?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** SIGTERM, then the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Read the journal (read-only, while the bot runs). */
  query<T>(sql: string): T[];
}

export function spawnLiveBot(o: {
  fake: FakeBinance;
  dir: string;
  csv: string;
  config?: Record<string, unknown>;
  args?: string[];
}): LiveChild {
  const dbPath = join(o.dir, 'skipper.db');
  const cfg = join(o.dir, 'live.json');
  const base = {
    mode: 'live',
    market: { type: o.fake.type },
    exchange: { name: 'binance', testnet: true, apiUrl: o.fake.url, websocket: false, pollSec: 1, recvWindowMs: 2000 },
    data: { source: 'replay', replayFile: o.csv, speed: 600 },
    journal: { path: dbPath },
    log: { file: join(o.dir, 'skipper.log'), level: 'debug' },
    chat: { console: { enabled: false } },
  };
  writeFileSync(cfg, JSON.stringify(deepMerge(base, o.config ?? {})));
  const proc = spawn(process.execPath, ['bin/skipper.js', 'run', '--config', cfg, '--confirm-live', ...(o.args ?? [])], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, EXCHANGE_API_KEY: CHILD_KEY, EXCHANGE_API_SECRET: CHILD_SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  let done = false;
  proc.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  return {
    proc,
    dbPath,
    out: () => text,
    exited,
    alive: () => !done,
    async waitFor(what, ms = 60_000) {
      const end = Date.now() + ms;
      const hit = (): boolean => (typeof what === 'string' ? text.includes(what) : what.test(text));
      while (!hit()) {
        if (done) throw new Error(`the bot exited before printing ${String(what)}:\n${text.slice(-3000)}`);
        if (Date.now() > end) throw new Error(`timed out waiting for ${String(what)}:\n${text.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (!done) proc.kill('SIGTERM');
      return exited;
    },
    query: <T>(sql: string): T[] => queryJournal<T>(dbPath, sql),
  };
}

/** Start the bot `kills` times, each killed (SIGKILL) at a random instant after its ready line. */
export async function killAtRandom(
  run: () => LiveChild,
  o: { kills: number; rand: () => number; minMs: number; spanMs: number },
): Promise<void> {
  for (let k = 0; k < o.kills; k++) {
    const b = run();
    await b.waitFor('Type /help');
    await new Promise((r) => setTimeout(r, o.minMs + o.rand() * o.spanMs));
    b.proc.kill('SIGKILL');
    await b.exited;
  }
}

/**
 * A temp dir holding `candles` generated 1m candles from 30,000 (candles.csv), and a fake Binance spot
 * at 30,000 with 10,000 USDT that the child's key opens. The caller closes the fake.
 */
export async function liveChildSetup(o: { prefix: string; candles: number; seed: number; volatility: number }) {
  const dir = tempDir(o.prefix);
  const csv = join(dir, 'candles.csv');
  await generateCsv(csv, o.candles, o.seed, { startPrice: 30_000, volatility: o.volatility });
  const fake = await new FakeBinance({ type: 'spot', balances: { USDT: 10_000 }, prices: { BTCUSDT: 30_000 }, apiKey: CHILD_KEY }).start();
  return { dir, csv, fake };
}

/**
 * The config of a live bot steered from its console (admin) against a local fake venue: the replay of
 * `csv` at full speed warms nothing (a strategy that never trades), stops at 2 %; only the trader trades.
 * Writes `dir`/live.json; `env` carries the keys the fakes accept; `query` reads the journal.
 */
export function consoleLiveBot(o: { dir: string; csv: string; venue: 'binance' | 'bybit'; type: 'spot' | 'perp'; url: string }) {
  const dbPath = join(o.dir, 'skipper.db');
  const cfg = join(o.dir, 'live.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      mode: 'live',
      market: o.type === 'perp' ? { type: 'perp', leverage: 1 } : { type: 'spot' },
      exchange: { name: o.venue, testnet: true, apiUrl: o.url, websocket: false, pollSec: 1, recvWindowMs: 2000 },
      data: { source: 'replay', replayFile: o.csv, speed: 'max' },
      strategy: { name: 'sma-cross', params: { fast: 50, slow: 200 } }, // never warm: only the trader trades
      risk: { stopLossPct: 0.02 },
      journal: { path: dbPath },
      log: { file: join(o.dir, 'skipper.log'), level: 'debug' },
      chat: { console: { enabled: true, role: 'admin' } },
    }),
  );
  return {
    args: ['--config', cfg, '--confirm-live'],
    env: { EXCHANGE_API_KEY: CHILD_KEY, EXCHANGE_API_SECRET: CHILD_SECRET },
    query: <T>(sql: string): T[] => queryJournal<T>(dbPath, sql),
  };
}

/**
 * Start the console-steered bot of `botCfg` (consoleLiveBot), wait out its replay and open one trade with
 * `/buy BTC/USDT 0.01`, confirmed; resolves once `stopsAtVenue()` counts the trade's stop at the venue.
 */
export async function consoleBotWithTrade(
  botCfg: ReturnType<typeof consoleLiveBot>,
  stopsAtVenue: () => number,
  children: ConsoleChild[],
): Promise<{ bot: ConsoleChild; tradeId: number }> {
  const bot = spawnConsoleBot(botCfg.args, botCfg.env);
  children.push(bot);
  await bot.waitFor('replay finished', 90_000);
  bot.mark();
  bot.send('/buy BTC/USDT 0.01');
  await bot.confirm();
  await until(() => stopsAtVenue() === 1, 'the trade’s stop at the venue', 60_000);
  const [pos] = botCfg.query<{ id: number }>(`select id from positions where closed_at is null`);
  return { bot, tradeId: pos!.id };
}

/** Read a bot's journal (read-only, while it runs). */
export function queryJournal<T>(dbPath: string, sql: string): T[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}
