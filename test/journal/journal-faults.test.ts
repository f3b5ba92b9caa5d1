// The journal failing under a running bot (issue 7 items 6 and 7, and the WAL growth): deleted or
// replaced files, a full database, and a WAL that must stay bounded. Real SQLite, real files.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { statOrNull } from '../../src/core/file-checks.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { JournalFileError } from '../../src/journal/file-guard.ts';
import { Journal } from '../../src/journal/journal.ts';
import { chatUser, startBot, tempDir, type Harness } from '../helpers/harness.ts';
import { RecordingTransport } from '../helpers/recording-transport.ts';
import { FakeBinance } from '../fakes/exchange/binance.ts';

const TRADING = {
  risk: { maxConsecutiveLosses: 0, minTradeIntervalSec: 0 },
  strategy: { name: 'sma-cross', params: { fast: 3, slow: 8 } },
};
const SYM = 'BTC/USDT';

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms))]);

async function ask(h: Harness, text: string): Promise<string> {
  return (await h.bot.dispatcher.handleText(chatUser('admin'), text))?.text ?? '';
}

describe('journal file: created whole, checked, watched', () => {
  it('a new journal appears in one step (built beside it, renamed into place): no leftovers', () => {
    const dir = tempDir();
    const j = new Journal({ path: join(dir, 'j.db') });
    expect(j.fileProblem()).toBeNull();
    expect(readdirSync(dir).filter((f) => !/^j\.db(-wal|-shm)?$/.test(f))).toEqual([]);
    j.close();
  });

  it('a SQLite file that is not a Skipper journal is refused and left as it was', () => {
    const path = join(tempDir(), 'other.db');
    const db = new Database(path);
    db.exec('create table notes (x text)');
    db.close();
    expect(() => new Journal({ path })).toThrow(JournalFileError);
    expect(() => new Journal({ path })).toThrow(/is a SQLite database but not a Skipper journal/);
    const again = new Database(path, { readonly: true });
    expect(again.prepare("select name from sqlite_master where type = 'table'").all()).toEqual([{ name: 'notes' }]);
    again.close();
  });

  it('fileProblem says when the file was deleted or replaced; onWriteFailure hears storage failures, not statement errors', () => {
    const path = join(tempDir(), 'j.db');
    const failures: string[] = [];
    const j = new Journal({ path, onWriteFailure: (e) => failures.push(e.message) });
    expect(() => j.tx(() => j.sqlite.prepare('insert into runtime_state (key, value, updated_at) values (null, 1, 1)').run())).toThrow();
    expect(failures).toEqual([]); // a constraint error is the statement's fault, not the disk's
    j.sqlite.pragma(`max_page_count = ${j.sqlite.pragma('page_count', { simple: true }) as number}`);
    expect(() =>
      j.tx(() => {
        for (let i = 0; i < 500; i++) j.setState(`k${i}`, 'x'.repeat(1000), i);
      }),
    ).toThrow(/full/);
    expect(failures).toEqual(['database or disk is full']);
    unlinkSync(path);
    expect(j.fileProblem()).toMatch(/j\.db was deleted or moved while the bot was running/);
    j.close();
  });
});

describe('journal write failure (database full: SQLite max_page_count)', () => {
  it('halts entries, stops the candles, says so in /status and /health and to chat, and exits non-zero', async () => {
    const h = await startBot({ candles: 20_000, waitForReplay: false, config: TRADING });
    const rec = new RecordingTransport();
    h.bot.notifier.add(rec);
    try {
      const pages = h.bot.journal.sqlite.pragma('page_count', { simple: true }) as number;
      h.bot.journal.sqlite.pragma(`max_page_count = ${pages + 40}`);
      await within(h.bot.feedsDone(), 60_000, 'the feed to stop');

      const f = h.bot.journalHealth.fault!;
      expect(f).toMatchObject({ kind: 'write_failed', reason: 'database or disk is full' });
      expect(h.bot.exitCode).toBe(3);
      expect(h.bot.feeds[0]!.state().status).toBe('stopped');
      expect(h.bot.engine.candleCounts(SYM).accepted).toBeLessThan(20_000);

      const status = await ask(h, '/status');
      expect(status).toMatch(/Risk:\s+entries blocked — journal write failed \(database or disk is full\)/);
      expect(status).toMatch(/Journal:\s+FAILED — Journal write failed: database or disk is full/);
      expect(status).toContain('no longer simulates anything: open positions have NO working stop-loss');
      expect(status).not.toContain('OK, trading');
      expect(await ask(h, '/health')).toMatch(/Journal state:\s+FAILED — Journal write failed/);
      // Nothing can be entered, by the strategy or by hand; /resume does not lift it.
      h.bot.engine.resume('test', { clearHalt: true, clearBreaker: true });
      const d = h.bot.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 0.01 }, 'test', { dryRun: true }).decision;
      expect(d).toMatchObject({ action: 'reject', rule: 'fault' });

      const post = rec.posts.find((x) => x.topic.severity === 'critical')!;
      expect(post.reply.title).toBe('Journal write failed: trading stopped');
      expect(post.reply.text).toContain('Free disk space');
    } finally {
      await h.stop();
    }
    expect(h.bot.exitCode).toBe(3);
  }, 90_000);

  it.skipIf(spawnSync('bash', ['-c', 'true']).status !== 0)(
    'through the CLI, a file-size limit (ulimit -f) on a max-speed replay: --exit-when-done exits 3 with the reason',
    async () => {
      const dir = tempDir();
      const csv = join(dir, 'c.csv');
      await generateCsv(csv, 30_000, 4);
      const cfg = join(dir, 'cfg.json');
      writeFileSync(
        cfg,
        JSON.stringify({
          ...TRADING,
          journal: { path: join(dir, 'j.db') },
          log: { file: join(dir, 'l.log') },
          chat: { console: { enabled: false } },
          data: { source: 'replay', replayFile: csv },
        }),
      );
      // bash counts -f in KiB: 1 MiB files at most. Node ignores SIGXFSZ, so writes fail with EFBIG.
      const r = spawnSync(
        'bash',
        ['-c', `ulimit -f 1024; exec "${process.execPath}" bin/skipper.js run --config "${cfg}" --exit-when-done`],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toContain('skipper: stopped after a journal fault:');
      expect(r.stdout).toContain('journal fault: stopping');
      expect(r.stdout).not.toContain('replay finished');
    },
    150_000,
  );
});

describe('journal write failure in live mode (fake Binance, real ccxt)', () => {
  it('the protective stop stays on the venue (nothing is cancelled), and /status says so', async () => {
    const KEY = 'fault-test-key-0001';
    const fake = await new FakeBinance({ type: 'spot', balances: { USDT: 10_000 }, prices: { BTCUSDT: 30_000 }, apiKey: KEY }).start();
    const dir = tempDir();
    const csv = join(dir, 'c.csv');
    await generateCsv(csv, 3000, 8, { startPrice: 30_000, volatility: 0.0005 });
    const h = await startBot({
      dir,
      replayFile: csv,
      waitForReplay: false,
      config: {
        mode: 'live',
        exchange: { name: 'binance', testnet: true, apiUrl: fake.url, websocket: false, pollSec: 1, recvWindowMs: 2000 },
        data: { speed: 600 },
        strategy: { name: 'sma-cross', params: { fast: 100, slow: 200 } },
      },
      bot: { secrets: { exchangeApiKey: KEY, exchangeApiSecret: 'fault-test-secret-0001' }, confirmLive: true },
    });
    try {
      const until = async (ok: () => boolean, what: string) => {
        for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
        expect(ok(), what).toBe(true);
      };
      await until(() => Number.isFinite(h.bot.engine.lastPrice(SYM)), 'a first candle');
      // An entry with its bracket, as the strategy would place it: a stop goes out once it fills.
      h.bot.engine.submit({ symbol: SYM, side: 'buy', type: 'market', tif: 'GTC', reduceOnly: false, qty: 0.01 }, 'entry', undefined, {
        stopLoss: 29_000,
      });
      const stop = () => [...h.bot.engine.liveOrders.values()].find((o) => o.purpose === 'stop_loss' && o.status === 'open');
      await until(() => stop() !== undefined, 'the protective stop on the venue');
      const coid = stop()!.clientOrderId;
      const before = fake.requests.length;

      // Every write fails from now on, as on a storage remounted read-only (SQLITE_READONLY).
      h.bot.journal.sqlite.pragma('query_only = 1');
      await until(() => h.bot.journalHealth.fault !== null, 'the journal fault');
      expect(h.bot.journalHealth.fault).toMatchObject({ kind: 'write_failed', reason: 'attempt to write a readonly database' });
      const status = await ask(h, '/status');
      expect(status).toContain('The protective stop-loss and take-profit orders stay on binance and keep working');
      await new Promise((r) => setTimeout(r, 1500)); // polls and timers go on meanwhile
      expect(fake.order(coid)?.status).toBe('NEW');
      expect(
        fake.requests
          .slice(before)
          .filter((r) => r.method === 'DELETE' || r.method === 'POST')
          .map((r) => `${r.method} ${r.path}`),
      ).toEqual([]);
    } finally {
      await h.stop();
      await fake.close();
    }
    expect(h.bot.exitCode).toBe(3);
  }, 60_000);
});

describe('journal deleted or replaced while the bot runs', () => {
  const slow = { ...TRADING, data: { speed: 600 } }; // a 1m candle every 100 ms

  it.each([
    ['deleted', (path: string) => unlinkSync(path), /was deleted or moved while the bot was running/],
    [
      'replaced',
      (path: string) => {
        const other = `${path}.other`;
        new Journal({ path: other }).close();
        renameSync(other, path);
      },
      /was replaced by another file while the bot was running/,
    ],
  ] as const)(
    '%s: the bot halts, alerts and stops by itself (exit code 3), writing nothing more',
    async (_what, act, reason) => {
      const h = await startBot({ candles: 3000, waitForReplay: false, config: slow });
      const rec = new RecordingTransport();
      h.bot.notifier.add(rec);
      try {
        await new Promise((r) => setTimeout(r, 600));
        const path = h.bot.journal.path;
        act(path);
        await within(h.bot.done, 10_000, 'the bot to stop');
        const f = h.bot.journalHealth.fault!;
        expect(f.kind).toBe('lost');
        expect(f.reason).toMatch(reason);
        expect(h.bot.exitCode).toBe(3);
        expect(h.bot.journal.sqlite.open).toBe(false);
        const seen = h.bot.engine.candleCounts(SYM).accepted;
        await new Promise((r) => setTimeout(r, 400));
        expect(h.bot.engine.candleCounts(SYM).accepted).toBe(seen);
        expect(seen).toBeLessThan(3000);
        const post = rec.posts.find((x) => x.topic.severity === 'critical')!;
        expect(post.reply.title).toBe('Journal lost: stopping');
        expect(post.reply.text).toMatch(reason);
        expect(post.reply.text).toContain('rather than write into a file nobody can read');
      } finally {
        await h.stop();
      }
    },
    30_000,
  );

  it('through the CLI: rm of the journal while it trades makes the process stop with exit code 3', async () => {
    const dir = tempDir();
    const csv = join(dir, 'c.csv');
    await generateCsv(csv, 3000, 5);
    const db = join(dir, 'j.db');
    const cfg = join(dir, 'cfg.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        ...slow,
        journal: { path: db },
        log: { file: join(dir, 'l.log') },
        chat: { console: { enabled: false } },
        data: { source: 'replay', replayFile: csv, speed: 600 },
      }),
    );
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const c = spawn(process.execPath, ['bin/skipper.js', 'run', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Type /help') && statOrNull(db)) setTimeout(() => unlinkSync(db), 300);
      });
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const kill = setTimeout(() => c.kill('SIGKILL'), 60_000);
      c.on('close', (code) => {
        clearTimeout(kill);
        resolve({ code, out, err });
      });
    });
    expect(r.code, r.out + r.err).toBe(3);
    expect(r.err).toMatch(/skipper: stopped after a journal fault: the journal file .*j\.db was deleted or moved/);
  }, 90_000);
});

describe('WAL growth', () => {
  it('a max-speed replay keeps the WAL under 16 MB (it grew past 80 MB), and a clean stop leaves it empty', async () => {
    const h = await startBot({ candles: 8000, waitForReplay: false, config: TRADING });
    const wal = `${h.bot.journal.path}-wal`;
    let max = 0;
    const sample = setInterval(() => (max = Math.max(max, statOrNull(wal)?.size ?? 0)), 5);
    try {
      await within(h.bot.feedsDone(), 120_000, 'the replay');
    } finally {
      clearInterval(sample);
      await h.stop();
    }
    max = Math.max(max, statOrNull(wal)?.size ?? 0);
    expect(h.bot.engine.candleCounts(SYM).accepted).toBe(8000);
    expect(max).toBeGreaterThan(0);
    expect(max).toBeLessThanOrEqual(16 * 2 ** 20);
    expect(statOrNull(wal)?.size ?? 0).toBe(0);
    expect(statSync(h.bot.journal.path).size).toBeGreaterThan(0);
  }, 150_000);
});
