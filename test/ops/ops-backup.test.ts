// Journal backups: online while a replay writes, intact, restorable to the same books; restore
// refuses a running bot and a damaged file; a bad backup folder is an alert, never a stop; /backup
// sends the file to the admin who asked.
import Database from 'better-sqlite3';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { renderReply } from '../../src/chat/discord.ts';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { Bot } from '../../src/app/bot.ts';
import type { CandleFeed } from '../../src/market/feed.ts';
import { BackupError, backupJournal, verifyJournalFile } from '../../src/ops/backup.ts';
import { journalInUse, RESTORE_ORDER_SEQ_GAP, restoreJournal } from '../../src/ops/restore.ts';
import { dbBackup } from '../../src/ops/cli.ts';
import { Journal } from '../../src/journal/journal.ts';
import { BOT_INFO, FakeTelegram } from '../fakes/telegram-api.ts';
import { chatUser, startBot, tempDir } from '../helpers/harness.ts';

/** Everything that makes up the books, read straight from a journal file. */
function books(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    const all = (sql: string) => db.prepare(sql).all();
    return {
      fills: all('select venue, trade_id, client_order_id, side, price, qty, fee, realized_pnl, cash_delta from fills order by id'),
      orders: all('select client_order_id, status, filled_qty, avg_price from orders order by id'),
      positions: all('select * from positions order by id'),
      paperBalances: all('select * from paper_balances order by 1'),
      paperOrders: all('select * from paper_orders order by 1'),
      paperPositions: all('select * from paper_positions order by 1'),
      progress: all(
        "select key, value from runtime_state where key in ('last_candle:BTC/USDT', 'order_seq', 'account', 'risk') order by key",
      ),
    };
  } finally {
    db.close();
  }
}

/** The books without the client order id counter, which a restore moves on. */
function withoutOrderSeq(b: ReturnType<typeof books>) {
  return { ...b, progress: (b.progress as Array<{ key: string }>).filter((r) => r.key !== 'order_seq') };
}
const orderSeqOf = (b: ReturnType<typeof books>): number =>
  Number(JSON.parse((b.progress as Array<{ key: string; value: string }>).find((r) => r.key === 'order_seq')!.value));

const until = async (cond: () => boolean, ms = 20_000) => {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** A feed that never yields: the bot runs idle on the journal it was given. */
const idleFeed = (): CandleFeed => {
  let stop: () => void = () => {};
  return {
    name: 'idle',
    symbol: 'BTC/USDT',
    timeframe: '1m',
    state: () => ({ status: 'up', detail: '', since: 0 }),
    async *batches(): AsyncGenerator<never> {
      await new Promise<void>((r) => (stop = r));
      yield* [];
    },
    stop: () => stop(),
  };
};

describe('journal backups', () => {
  it('a backup taken while a replay writes passes integrity_check and restores to the same books', async () => {
    const h = await startBot({ candles: 60_000, waitForReplay: false, config: { risk: { maxConsecutiveLosses: 0 }, backup: { keep: 3 } } });
    let file: string;
    try {
      await until(() => h.bot.ops.watch!.candles > 5_000);
      const before = h.bot.ops.watch!.candles;
      const r = await h.bot.ops.backups.run('command');
      file = r.file;
      expect(h.bot.ops.watch!.candles).toBeGreaterThan(before); // the replay kept writing meanwhile
      expect(h.bot.feeds[0]!.state().status).toBe('replaying');
      expect(file).toMatch(/backups\/skipper-\d{8}-\d{6}\.db$/);
      expect(r.bytes).toBe(statSync(file).size);
    } finally {
      await h.stop();
    }
    const check = new Database(file, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete'); // one standalone file
    check.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
    const snapshot = books(file);
    expect(snapshot.fills.length).toBeGreaterThan(0);

    // Into a fresh place, and over the journal it came from (which moved on after the backup): the same
    // books; only the client order id counter goes on past every id used (restore-order-ids test below).
    const fresh = join(tempDir(), 'restored.db');
    expect((await restoreJournal(file, fresh, Date.UTC(2025, 0, 1))).previous).toBeNull();
    expect(withoutOrderSeq(books(fresh))).toEqual(withoutOrderSeq(snapshot));
    const res = await restoreJournal(file, h.bot.journal.path, Date.UTC(2025, 0, 1));
    expect(res.previous).toBe(`${h.bot.journal.path}.before-restore-20250101T000000.db`);
    expect(withoutOrderSeq(books(h.bot.journal.path))).toEqual(withoutOrderSeq(snapshot));
    expect(books(res.previous!).fills.length).toBeGreaterThan(snapshot.fills.length);
    expect(res.orderSeq).toBe(orderSeqOf(books(res.previous!)) + RESTORE_ORDER_SEQ_GAP);

    // A bot started on the restored journal rebuilds those books; its start-up reconciliation agrees.
    const dir = tempDir();
    const bot = new Bot({
      config: parseConfig({
        journal: { path: fresh },
        log: { file: join(dir, 'x.log') },
        chat: { console: { enabled: false } },
      }),
      logger: silentLogger(),
      output: new PassThrough(),
      feedFactory: idleFeed,
    });
    try {
      await bot.start();
      expect(bot.journal.recentReconciliations(1)[0]!.status).toBe('ok');
      expect([...bot.engine.portfolio.positions.values()].map((p) => [p.symbol, p.side, p.qty])).toEqual(
        (snapshot.positions as Array<{ symbol: string; side: string; qty: number; closed_at: number | null }>)
          .filter((p) => p.closed_at === null)
          .map((p) => [p.symbol, p.side, p.qty]),
      );
      const usdt = (await bot.exchange.fetchBalances()).find((b) => b.asset === 'USDT')!;
      expect(bot.engine.portfolio.cash).toBeCloseTo(usdt.free + usdt.locked, 6);
    } finally {
      await bot.stop();
    }
  });

  it('a restored journal never hands out a client order id used before: not those sent after the backup, even with the journal lost', async () => {
    const dir = tempDir();
    const path = join(dir, 'skipper.db');
    const ids = (file: string, n: number): string[] => {
      const j = new Journal({ path: file });
      try {
        return Array.from({ length: n }, () => j.nextClientOrderId('sk-', 0));
      } finally {
        j.close();
      }
    };
    const beforeBackup = ids(path, 3);
    const backup = join(dir, 'b.db');
    await backupJournal(path, backup);
    const afterBackup = ids(path, 2); // sent to the venue, known only to the journal about to be replaced
    const r = await restoreJournal(backup, path, Date.UTC(2025, 0, 1));
    const next = ids(path, 1)[0]!;
    expect([...beforeBackup, ...afterBackup]).not.toContain(next);
    expect(r.orderSeq).toBe(5 + RESTORE_ORDER_SEQ_GAP);
    expect(next).toBe(`sk-${(5 + RESTORE_ORDER_SEQ_GAP + 1).toString(36).padStart(6, '0')}`);
    // The journal lost with its disk: the backup alone, into a new place, still keeps clear of the ids sent after it.
    const lost = join(tempDir(), 'skipper.db');
    expect((await restoreJournal(backup, lost, 0)).orderSeq).toBe(3 + RESTORE_ORDER_SEQ_GAP);
    expect(ids(lost, 1)[0]).toBe(`sk-${(3 + RESTORE_ORDER_SEQ_GAP + 1).toString(36).padStart(6, '0')}`);
  });

  it('restore refuses while a bot runs on the journal, and refuses damaged or foreign files; nothing changes', async () => {
    const h = await startBot({ candles: 1500, config: { risk: { maxConsecutiveLosses: 0 } } });
    const journal = h.bot.journal.path;
    const { file } = await h.bot.ops.backups.run('command');
    const before = books(journal);
    try {
      expect(journalInUse(journal)).toBe(true);
      await expect(restoreJournal(file, journal, 0)).rejects.toThrow(
        `a bot is running on ${journal} (the journal is open in another process): stop it first. Nothing was changed.`,
      );
      const dir = tempDir();
      const truncated = join(dir, 'truncated.db');
      copyFileSync(file, truncated);
      truncateSync(truncated, Math.floor(statSync(file).size / 2));
      const text = join(dir, 'notes.db');
      writeFileSync(text, 'not a database at all '.repeat(200));
      const foreign = join(dir, 'foreign.db');
      new Database(foreign).exec('create table t (x)');
      for (const bad of [truncated, text, foreign, join(dir, 'missing.db')]) {
        const e = await restoreJournal(bad, journal, 0).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(BackupError);
        expect((e as Error).message).toMatch(/cannot be restored: .+\. Nothing was changed\.$/);
      }
      expect(verifyJournalFile(foreign)).toEqual([
        'not a Skipper journal: no orders, fills, positions, runtime_state, __drizzle_migrations tables',
      ]);
      expect(books(journal)).toEqual(before);
      expect(readdirSync(join(journal, '..')).filter((f) => f.includes('before-restore'))).toEqual([]);
    } finally {
      await h.stop();
    }
    await until(() => !journalInUse(journal), 5000); // the checkpoint worker's connection closes just after stop
    // What /backup sends (gzip) restores directly.
    const gz = join(tempDir(), 'sent.db.gz');
    writeFileSync(gz, gzipSync(readFileSync(file)));
    await restoreJournal(gz, journal, 0);
    expect(withoutOrderSeq(books(journal))).toEqual(withoutOrderSeq(books(file)));
  });

  it('rotates to backup.keep', async () => {
    const h = await startBot({ candles: 200, config: { backup: { keep: 2 } } });
    try {
      for (let i = 0; i < 4; i++) await h.bot.ops.backups.run('command');
      const files = readdirSync(h.bot.ops.backups.dir);
      expect(files).toHaveLength(2);
      expect(h.bot.ops.backups.latest()!.file).toBe(join(h.bot.ops.backups.dir, files.sort().at(-1)!));
    } finally {
      await h.stop();
    }
  });

  it('a backup folder that cannot be written: a clear message and an alert; the bot trades on', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a-file'), 'x');
    const h = await startBot({
      dir,
      candles: 1500,
      config: { backup: { dir: join(dir, 'a-file', 'backups') }, risk: { maxConsecutiveLosses: 0 } },
    });
    try {
      const e = await h.bot.ops.backups.run('command').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BackupError);
      expect((e as Error).message).toMatch(/^backup folder .*a-file\/backups cannot be created: ENOTDIR/);
      const alert = h.bot.journal.sqlite.prepare("select severity, message from alerts where title = 'Journal backup failed'").get() as {
        severity: string;
        message: string;
      };
      expect(alert.severity).toBe('warning');
      expect(alert.message).toContain('Trading continues; the journal itself is unaffected.');
      const fills = h.bot.journal.count('fills');
      const admin = chatUser('admin');
      const ask = await h.bot.dispatcher.handleText(
        admin,
        h.bot.engine.portfolio.positions.size ? '/close BTC/USDT' : '/buy BTC/USDT 0.01',
      );
      await h.bot.dispatcher.handleButton(admin, ask!.buttons![0]![0]!.data);
      expect(h.bot.journal.count('fills')).toBe(fills + 1);
    } finally {
      await h.stop();
    }
  });

  it('a full disk: a clear message and an alert, no half-written backup left', async (ctx) => {
    // A tiny tmpfs is a full disk on demand; mounting needs root (skipped otherwise).
    const mnt = join(tempDir(), 'full');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      ctx.skip();
    }
    const h = await startBot({ candles: 1500, config: { backup: { dir: mnt } } });
    try {
      const e = await h.bot.ops.backups.run('command').catch((x: unknown) => x);
      expect((e as Error).message).toBe(`the disk holding ${mnt} is full`);
      expect(readdirSync(mnt)).toEqual([]);
      expect(h.bot.journal.sqlite.prepare("select count(*) as n from alerts where title = 'Journal backup failed'").get()).toEqual({
        n: 1,
      });
    } finally {
      await h.stop();
      execFileSync('umount', [mnt]);
    }
  });
});

describe('/backup', () => {
  const TOKEN = '123456:TEST-token-backup';
  const ADMIN = 111;
  const VIEWER = 333;
  const GROUP = -100777;

  it('sends the latest backup as a document to the admin who asked, privately; viewers are refused', async () => {
    const fake = await FakeTelegram.start(TOKEN);
    fake.addUser({ id: ADMIN, first_name: 'Ada' });
    const h = await startBot({
      candles: 600,
      config: {
        chat: {
          telegram: {
            enabled: true,
            pollTimeoutSec: 1,
            users: [
              { id: ADMIN, role: 'admin' },
              { id: VIEWER, role: 'viewer' },
            ],
            alertChats: [{ chatId: GROUP }],
          },
        },
      },
      bot: { secrets: { telegramBotToken: TOKEN, telegramApiRoot: fake.url }, telegram: { botInfo: BOT_INFO } },
    });
    try {
      let mark = fake.mark;
      fake.sendText(ADMIN, '/backup', { chatId: GROUP });
      const doc = await fake.waitFor('sendDocument', () => true, { after: mark, timeoutMs: 15_000 });
      expect(String(doc.body.chat_id)).toBe(String(ADMIN)); // not the group
      expect(doc.files[0]).toMatch(/^skipper-\d{8}-\d{6}\.db\.gz$/);
      expect(String(doc.body.caption)).toContain('Restore with: gunzip');
      const note = await fake.waitFor(
        'sendMessage',
        (c) => String(c.body.chat_id) === String(GROUP) && !String(c.body.text).startsWith('<b>'),
        {
          after: mark,
        },
      );
      expect(String(note.body.text)).toBe('Sent to you in a private chat.');
      expect(h.bot.ops.backups.latest()).toBeDefined();

      mark = fake.mark;
      fake.sendText(ADMIN, '/backup');
      const again = await fake.waitFor('sendDocument', () => true, { after: mark, timeoutMs: 15_000 });
      expect(again.files[0]).toBe(doc.files[0]); // the latest one, not a new one
      expect(readdirSync(h.bot.ops.backups.dir)).toHaveLength(1);

      mark = fake.mark;
      fake.sendText(VIEWER, '/backup');
      const refused = await fake.waitFor('sendMessage', (c) => String(c.body.chat_id) === String(VIEWER), { after: mark });
      expect(String(refused.body.text)).toContain('/backup needs the admin role');
      expect(fake.callsOf('sendDocument')).toHaveLength(2);

      const consoleReply = await h.bot.dispatcher.handleText(chatUser('admin'), '/backup');
      expect(consoleReply!.document).toBeUndefined();
      expect(consoleReply!.text).toContain(`In ${h.bot.ops.backups.dir}.`);
      // The file here is not gzipped: no gunzip in the console's restore line.
      expect(consoleReply!.text).toContain(
        `Restore with: skipper db restore ${join(h.bot.ops.backups.dir, doc.files[0]!.replace(/\.gz$/, ''))} (with`,
      );
      expect(consoleReply!.text).not.toContain('gunzip');
    } finally {
      await h.stop();
      await fake.close();
    }
  });

  it('Discord gets the file as an attachment, not as an embed image', () => {
    const r = renderReply({
      title: 'Journal backup',
      text: 'x',
      document: { data: Buffer.from('gz'), filename: 'skipper-1.db.gz' },
      ephemeral: true,
    });
    expect(r.files).toEqual([{ name: 'skipper-1.db.gz', data: Buffer.from('gz') }]);
    expect(r.embeds[0]!.image).toBeUndefined();
    expect(r.ephemeral).toBe(true);
  });
});

describe('skipper db restore (CLI)', () => {
  it('refuses while a bot runs on the journal: exit 1 with the reason, journal unchanged', async () => {
    const h = await startBot({ candles: 300 });
    try {
      const { file } = await h.bot.ops.backups.run('command');
      const fills = h.bot.journal.count('fills');
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          ['bin/skipper.js', 'db', 'restore', file, '--path', h.bot.journal.path],
          { cwd: PROJECT_ROOT },
          (e, _out, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stderr }),
        );
        child.stdin?.end();
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `skipper: a bot is running on ${h.bot.journal.path} (the journal is open in another process): stop it first. Nothing was changed.\n`,
      );
      expect(h.bot.journal.count('fills')).toBe(fills);
    } finally {
      await h.stop();
    }
  });
});

describe('skipper db backup FILE (CLI)', () => {
  const cli = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['bin/skipper.js', 'db', 'backup', ...args], { cwd: PROJECT_ROOT }, (e, stdout, stderr) =>
        resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });
  const fills = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return (db.prepare('select count(*) as n from fills').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  it('never replaces another file without --force, never the journal itself, and names a directory as one; nothing is written', async () => {
    // Another account's journal, full of fills, and a journal with none to back up.
    const h = await startBot({ candles: 1500, config: { risk: { maxConsecutiveLosses: 0 } } });
    const other = join(tempDir(), 'other.db');
    try {
      await h.bot.ops.backups.run('command');
      copyFileSync(h.bot.ops.backups.latest()!.file, other);
    } finally {
      await h.stop();
    }
    const n = fills(other);
    expect(n).toBeGreaterThan(0);
    const dir = tempDir();
    const journal = join(dir, 'j.db');
    new Journal({ path: journal }).close();
    const before = readFileSync(other);

    const refused = await cli(other, '--path', journal);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `^skipper: ${other} already exists \\(a Skipper journal with ${n} fills, [\\d.]+ KiB\\): nothing was written\\. Name a new file, or add --force to replace it\\.\\n$`,
      ),
    );
    expect(readFileSync(other).equals(before)).toBe(true);
    expect(readdirSync(join(other, '..'))).toEqual(['other.db']); // no .partial left either

    const cfg = parseConfig({ journal: { path: journal } });
    for (const [target, force, message] of [
      [journal, true, `${journal} is the journal itself: a backup must go to another file. Nothing was written.`],
      [join(dir, '.', 'j.db'), false, `${join(dir, '.', 'j.db')} is the journal itself`],
      [dir, true, `${dir} is a directory: name the backup file (e.g. ${dir}/j-backup.db). Nothing was written.`],
    ] as const) {
      const e = await dbBackup(cfg, journal, target, 0, { force }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BackupError);
      expect((e as Error).message).toContain(message);
    }
    expect(readdirSync(dir)).toEqual(['j.db']);

    const forced = await cli(other, '--path', journal, '--force');
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(new RegExp(`^${other}: [\\d.]+ KiB, integrity ok`));
    expect(fills(other)).toBe(0);
  }, 60_000);
});
