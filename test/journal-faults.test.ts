// The journal failing under a running bot (issue 7 items 6 and 7, and the WAL growth): deleted or
// replaced files, a full database, and a WAL that must stay bounded. Real SQLite, real files.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { statOrNull } from '../src/core/file-checks.ts';
import { generateCsv } from '../src/market/generator.ts';
import { Journal } from '../src/journal/journal.ts';
import { chatUser, startBot, tempDir, type Harness } from './helpers/harness.ts';
import { RecordingTransport } from './helpers/recording-transport.ts';

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
      c.on('exit', (code) => {
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
