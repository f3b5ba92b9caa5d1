// The journal file itself: checked before it is opened (an empty or foreign file is an error, never a
// fresh account), created atomically (a crash during the first start leaves no half-made journal), and
// watched while the bot runs (deleted or replaced under it: stop instead of writing into a ghost).
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../core/errors.ts';
import { statOrNull, writableFileProblem } from '../core/file-checks.ts';

/** A journal file that can't be used as it is; the message names the file and what to do. */
export class JournalFileError extends UserError {
  override name = 'JournalFileError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

const SQLITE_MAGIC = 'SQLite format 3\0';

/**
 * Why `path` can't be opened as the journal, or null when it can (including: nothing there yet, a new
 * account). Reads the header only; creates and changes nothing.
 */
export function journalFileProblem(path: string): string | null {
  const w = writableFileProblem(path, true);
  if (w) return w;
  const st = statOrNull(path);
  if (!st) return null;
  if (!st.isFile()) return `${path} is not a regular file`;
  const fresh = `move it away to start a new account, or run "skipper db init" to make it one`;
  if (st.size === 0) return `${path} is empty (0 bytes), not a journal: ${fresh}`;
  const head = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 100 || head.toString('latin1', 0, 16) !== SQLITE_MAGIC) return `${path} is not a SQLite database, so not a journal: ${fresh}`;
  const raw = head.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (st.size % pageSize !== 0) {
    return `${path} is damaged: ${st.size} bytes is not a whole number of ${pageSize}-byte pages (truncated?). Restore it from a backup`;
  }
  return null;
}

/** Words for an error SQLite gave while opening the journal. */
export function journalOpenError(path: string, e: unknown): JournalFileError {
  const code = (e as { code?: string }).code ?? '';
  const msg = e instanceof Error ? e.message : String(e);
  const why = code.startsWith('SQLITE_CANTOPEN')
    ? 'cannot open it (is its directory writable?)'
    : code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH'
      ? 'it is read-only (the journal and its directory must be writable)'
      : code === 'SQLITE_NOTADB'
        ? 'it is not a SQLite database, so not a journal'
        : code === 'SQLITE_CORRUPT'
          ? 'it is damaged (restore it from a backup)'
          : code === 'SQLITE_FULL'
            ? 'the disk is full'
            : /^E[A-Z]+$/.test(code)
              ? 'cannot create or open it'
              : 'cannot use it';
  return new JournalFileError(path, `${path}: ${why} (${msg})`);
}

/**
 * Make a new journal at `path` in one step: build it beside the target, then rename it into place. A
 * crash at any instant leaves either no journal or a complete one, never an empty file.
 */
export function createJournalFile(path: string, init: (db: Database.Database) => void): void {
  const tmp = `${path}.init`;
  for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  const db = new Database(tmp);
  try {
    init(db);
  } finally {
    db.close(); // the last connection: SQLite checkpoints and removes the -wal
  }
  renameSync(tmp, path);
}

/** SQLite errors that mean the storage, not the statement, failed: retrying the same write won't help. */
export function isStorageFailure(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    (code === 'SQLITE_FULL' ||
      code.startsWith('SQLITE_IOERR') ||
      code.startsWith('SQLITE_READONLY') ||
      code === 'SQLITE_CORRUPT' ||
      code === 'SQLITE_CANTOPEN' ||
      code === 'SQLITE_NOTADB')
  );
}

/**
 * Every statement prepared on `db` (ours and drizzle's) reports a storage failure as it happens, in or
 * out of a transaction: the first failed write is the one that counts, wherever it comes from. Hand-
 * rolled: better-sqlite3 has no error hook. The wrappers are made once per prepared statement.
 */
export function reportStorageFailures(db: Database.Database, report: (e: Error) => void): void {
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    const st = prepare(source);
    for (const m of ['run', 'get', 'all'] as const) {
      const call = st[m].bind(st) as (...args: unknown[]) => unknown;
      (st as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => {
        try {
          return call(...args);
        } catch (e) {
          if (isStorageFailure(e)) report(e as Error);
          throw e;
        }
      };
    }
    return st;
  }) as typeof db.prepare;
}

/**
 * The WAL's working size (bytes): SQLite cuts the file back to it whenever it starts the log over
 * (journal_size_limit), and the bot checkpoints between batches once the file has grown past it
 * (JournalHealth). Each checkpoint costs an fsync, so not much smaller.
 */
export const WAL_TARGET_SIZE = 8 * 1024 * 1024;

/**
 * Open the journal's database: the file checked first (a new one created atomically, with `init`),
 * WAL mode, and every storage failure reported. Errors name the file.
 */
export function openJournalDb(
  o: { path: string; readonly?: boolean; synchronous?: 'NORMAL' | 'FULL' },
  init: (db: Database.Database) => void,
  onStorageFailure: (e: Error) => void,
): Database.Database {
  const file = o.path !== ':memory:';
  if (file) prepareJournalFile(o.path, o.readonly ?? false, init);
  let db: Database.Database | undefined;
  try {
    db = new Database(o.path, { readonly: o.readonly ?? false, fileMustExist: file });
    if (!o.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${o.synchronous ?? 'NORMAL'}`);
      db.pragma('busy_timeout = 5000');
      db.pragma(`journal_size_limit = ${WAL_TARGET_SIZE}`);
      if (file) reportStorageFailures(db, onStorageFailure);
    }
    if (file && !db.prepare(`select 1 from sqlite_master where name = '__drizzle_migrations'`).get()) {
      throw new JournalFileError(o.path, `${o.path} is a SQLite database but not a Skipper journal (no migrations table)`);
    }
    return db;
  } catch (e) {
    if (db?.open) db.close();
    throw e instanceof JournalFileError ? e : journalOpenError(o.path, e);
  }
}

/** Check the file before opening it, and create a new journal (atomically, with `init`) when there is none. */
function prepareJournalFile(path: string, readonly: boolean, init: (db: Database.Database) => void): void {
  const problem = journalFileProblem(path);
  if (problem) throw new JournalFileError(path, problem);
  if (readonly || statOrNull(path)) return;
  try {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    createJournalFile(path, init);
  } catch (e) {
    throw journalOpenError(path, e);
  }
}

/** What identifies a file on disk: its device and inode. */
interface Identity {
  dev: number;
  ino: number;
}

const identity = (path: string): Identity | null => {
  const st = statOrNull(path);
  return st ? { dev: st.dev, ino: st.ino } : null;
};

/**
 * Remembers which files the open journal is (main file and WAL) and tells when the paths no longer
 * lead to them: deleted, moved or replaced. One stat per file per check.
 */
export class JournalFileGuard {
  private readonly main: Identity | null;
  private readonly wal: Identity | null;

  constructor(readonly path: string) {
    this.main = identity(path);
    this.wal = identity(`${path}-wal`);
  }

  /** null while the journal is where it was opened; otherwise what happened, in words. */
  problem(): string | null {
    return this.changed(this.path, this.main) ?? this.changed(`${this.path}-wal`, this.wal);
  }

  private changed(path: string, was: Identity | null): string | null {
    if (was === null) return null;
    const now = identity(path);
    if (now === null) return `the journal file ${path} was deleted or moved while the bot was running`;
    if (now.dev !== was.dev || now.ino !== was.ino)
      return `the journal file ${path} was replaced by another file while the bot was running`;
    return null;
  }
}
