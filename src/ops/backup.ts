// Journal backups: SQLite's online backup API (better-sqlite3's `backup`) copies a consistent
// snapshot while the bot keeps writing. The copy, its integrity check and the switch to a
// standalone single file (no -wal beside it) run in a worker thread, so a large journal never
// blocks the trading loop. A backup is written under a temporary name and renamed only once it has
// passed `PRAGMA integrity_check`: a file named like a backup is always a good one.
import Database from 'better-sqlite3';
import { accessSync, constants, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

const BACKUP_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
(async () => {
  const t0 = performance.now();
  const src = new Database(workerData.source, { fileMustExist: true });
  src.pragma('busy_timeout = 5000');
  let pages = 0;
  try {
    // After the first step, copy the rest in one step: one read transaction, so writes by the bot
    // between steps cannot keep restarting the copy.
    await src.backup(workerData.dest, { progress: (p) => { pages = p.totalPages; return Math.max(100, p.remainingPages); } });
  } finally {
    src.close();
  }
  const out = new Database(workerData.dest);
  try {
    out.pragma('journal_mode = DELETE');
    const check = out.pragma('integrity_check').map((r) => r.integrity_check);
    parentPort.postMessage({ ok: true, pages, check, ms: Math.round(performance.now() - t0) });
  } finally {
    out.close();
  }
})().catch((e) => parentPort.postMessage({ ok: false, error: String(e && e.message || e), code: e && e.code }));
`;

export interface BackupResult {
  file: string;
  bytes: number;
  pages: number;
  ms: number;
}

/** A backup that could not be made, in words (the dir, the disk, the journal). */
export class BackupError extends Error {
  override name = 'BackupError';
}

const driver = (): string => createRequire(import.meta.url).resolve('better-sqlite3');

/** `skipper-20250820-031500.db` for a wall time. */
export function backupName(ts: number): string {
  const iso = new Date(ts).toISOString(); // 2025-08-20T03:15:00.000Z
  return `skipper-${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}.db`;
}

const BACKUP_FILE = /^skipper-\d{8}-\d{6}(-\d+)?\.db$/;

/** Make sure `dir` exists and we may write there; a clear sentence otherwise. */
export function checkWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BackupError(
      code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? `backup folder ${dir} is not writable (${code})`
        : `backup folder ${dir} cannot be created: ${(e as Error).message}`,
    );
  }
}

/** 12 bytes, 424.0 KiB, 1.2 MiB. */
export const fileSize = (n: number): string =>
  n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;

/** What an existing file holds, in a few words: "a Skipper journal with 1716 fills, 424.0 KiB". */
function describeFile(file: string): string {
  const bytes = fileSize(statSync(file).size);
  if (verifyJournalFile(file).length) return bytes;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const { n } = db.prepare('select count(*) as n from fills').get() as { n: number };
    return `a Skipper journal with ${n} fill${n === 1 ? '' : 's'}, ${bytes}`;
  } finally {
    db.close();
  }
}

/**
 * Refuse a backup target that would lose data: the journal itself, a directory, or (unless
 * `replace`) any existing file. Nothing is written when it throws.
 */
export function checkBackupTarget(source: string, dest: string, replace: boolean): void {
  const target = existsSync(dest) ? statSync(dest) : undefined;
  const src = existsSync(source) ? statSync(source) : undefined;
  if (resolve(source) === resolve(dest) || (target && src && target.dev === src.dev && target.ino === src.ino))
    throw new BackupError(`${dest} is the journal itself: a backup must go to another file. Nothing was written.`);
  if (target?.isDirectory())
    throw new BackupError(
      `${dest} is a directory: name the backup file (e.g. ${join(dest, `${basename(source, '.db')}-backup.db`)}). Nothing was written.`,
    );
  if (target && !replace)
    throw new BackupError(
      `${dest} already exists (${describeFile(dest)}): nothing was written. Name a new file, or add --force to replace it.`,
    );
}

/**
 * Copy the journal at `source` to `dest` while it may be in use. Never leaves a partial `dest`, and
 * never replaces an existing `dest` unless `replace` (checkBackupTarget).
 */
export async function backupJournal(source: string, dest: string, opts: { replace?: boolean } = {}): Promise<BackupResult> {
  if (!existsSync(source)) throw new BackupError(`no journal at ${source}`);
  const replace = opts.replace ?? false;
  checkBackupTarget(source, dest, replace);
  checkWritableDir(dirname(resolve(dest)));
  const tmp = `${dest}.partial`;
  rmSync(tmp, { force: true });
  type Reply = { ok: boolean; pages?: number; check?: string[]; ms?: number; error?: string; code?: string };
  const msg = await new Promise<Reply>((res, rej) => {
    const w = new Worker(BACKUP_WORKER, { eval: true, workerData: { driver: driver(), source: resolve(source), dest: resolve(tmp) } });
    w.once('message', res);
    w.once('error', rej);
    w.once('exit', (code) => code !== 0 && rej(new Error(`backup worker exited with ${code}`)));
  }).catch((e: unknown): Reply => ({ ok: false, error: (e as Error).message }));
  try {
    if (!msg.ok) throw new BackupError(describeFailure(msg.error ?? 'unknown error', msg.code, dirname(resolve(dest))));
    if (msg.check?.[0] !== 'ok') throw new BackupError(`the copy failed its integrity check: ${(msg.check ?? []).slice(0, 3).join('; ')}`);
    checkBackupTarget(source, dest, replace); // it may have appeared while the copy ran
    if (replace) renameSync(tmp, dest);
    else publishNew(tmp, dest);
  } finally {
    rmSync(tmp, { force: true });
    rmSync(`${tmp}-journal`, { force: true });
  }
  return { file: dest, bytes: statSync(dest).size, pages: msg.pages ?? 0, ms: msg.ms ?? 0 };
}

/** Move `tmp` to `dest` only if `dest` does not exist: a hard link fails rather than replace it. */
function publishNew(tmp: string, dest: string): void {
  try {
    linkSync(tmp, dest);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new BackupError(`${dest} appeared while the backup ran: nothing was written. Name a new file.`);
    renameSync(tmp, dest); // a file system without hard links; checked just before
  }
}

function describeFailure(error: string, code: string | undefined, dir: string): string {
  if (code === 'SQLITE_FULL' || /disk is full|ENOSPC/i.test(error)) return `the disk holding ${dir} is full`;
  if (code === 'SQLITE_CANTOPEN' || /unable to open/i.test(error)) return `cannot create a file in ${dir} (${error})`;
  if (code === 'SQLITE_READONLY' || /readonly/i.test(error)) return `${dir} is read-only`;
  return error;
}

/** Backups in `dir`, newest first. */
export function listBackups(dir: string): Array<{ file: string; bytes: number; mtimeMs: number }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => BACKUP_FILE.test(f))
    .sort()
    .reverse()
    .map((f) => {
      const st = statSync(join(dir, f));
      return { file: join(dir, f), bytes: st.size, mtimeMs: st.mtimeMs };
    });
}

/** Delete all but the `keep` newest backups; returns the deleted files. */
export function rotateBackups(dir: string, keep: number): string[] {
  const old = listBackups(dir).slice(keep);
  for (const b of old) rmSync(b.file, { force: true });
  return old.map((b) => b.file);
}

/** A fresh name in `dir` for wall time `ts` (a suffix when two backups land in the same second). */
export function nextBackupPath(dir: string, ts: number): string {
  const base = backupName(ts);
  let p = join(dir, base);
  for (let i = 2; existsSync(p); i++) p = join(dir, base.replace(/\.db$/, `-${i}.db`));
  return p;
}

/** Tables every Skipper journal has: a file without them is not a journal backup. */
const JOURNAL_TABLES = ['orders', 'fills', 'positions', 'runtime_state', '__drizzle_migrations'];

/** Is `file` an intact Skipper journal? Returns the problems found (none = good). */
export function verifyJournalFile(file: string): string[] {
  if (!existsSync(file)) return [`${file} does not exist`];
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const check = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
    if (check[0] !== 'ok') return [`integrity check failed: ${check.slice(0, 3).join('; ')}`];
    const tables = new Set(
      (db.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>).map((r) => r.name),
    );
    const missing = JOURNAL_TABLES.filter((t) => !tables.has(t));
    if (missing.length) return [`not a Skipper journal: no ${missing.join(', ')} table${missing.length > 1 ? 's' : ''}`];
    return [];
  } catch (e) {
    return [`${basename(file)} is not a readable SQLite database: ${(e as Error).message}`];
  } finally {
    db?.close();
  }
}
