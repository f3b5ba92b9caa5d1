// `skipper db restore FILE`: put a backup back as the journal. Refuses while a bot runs on the
// journal, and refuses a file that is not an intact Skipper journal. The current journal is kept
// beside it first. After a restore, start-up reconciles with the venue as after any restart.
import Database from 'better-sqlite3';
import { createReadStream, createWriteStream, existsSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { STATE } from '../journal/state-keys.ts';
import { rawStateStore } from '../journal/statements.ts';
import { BackupError, backupJournal, verifyJournalFile } from './backup.ts';

/**
 * How far a restore moves the client order id counter past the highest value it knows. Ids are never
 * reused (the venue keeps them: Bybit refuses a second orderLinkId, and a lookup by id finds the old
 * order), and the orders sent after the backup are only in the replaced journal — or nowhere, when it
 * was lost with its disk: the gap keeps clear of those.
 */
export const RESTORE_ORDER_SEQ_GAP = 100_000;

/** A journal's client order id counter (runtime_state), 0 when it has none or cannot be read. */
function orderSeqIn(file: string): number {
  try {
    const db = new Database(file, { fileMustExist: true, timeout: 0 });
    try {
      const n = Number(STATE.orderSeq.read(rawStateStore(db)));
      return Number.isFinite(n) && n > 0 ? n : 0;
    } finally {
      db.close();
    }
  } catch {
    return 0; // a damaged journal (the reason for many restores): the gap still applies
  }
}

function writeOrderSeq(file: string, seq: number, now: number): void {
  const db = new Database(file, { fileMustExist: true });
  try {
    STATE.orderSeq.write(rawStateStore(db), seq, now);
  } finally {
    db.close();
  }
}

/**
 * Is a process using the journal? Every open connection holds a shared lock on the file, which the
 * kernel drops when its process dies (kill -9 included); only an unused journal grants an
 * exclusive lock. A stale lock file or heartbeat could lie either way; this cannot.
 */
export function journalInUse(path: string): boolean {
  if (!existsSync(path)) return false;
  const db = new Database(path, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return false;
  } catch (e) {
    if ((e as { code?: string }).code === 'SQLITE_BUSY' || /locked|busy/i.test((e as Error).message)) return true;
    throw e;
  } finally {
    db.close();
  }
}

export interface RestoreResult {
  /** Where the journal that was replaced was kept (none if there was no journal). */
  previous: string | null;
  /** The client order id counter the restored journal goes on from. */
  orderSeq: number;
}

function isGzip(file: string): boolean {
  if (!existsSync(file)) return false;
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** Replace the journal at `target` with the backup `file` (plain, or gzipped as /backup sends it). */
export async function restoreJournal(file: string, target: string, now: number): Promise<RestoreResult> {
  if (resolve(file) === resolve(target)) throw new BackupError('the backup and the journal are the same file');
  if (isGzip(file)) {
    const plain = `${resolve(target)}.restore-${process.pid}.tmp`;
    try {
      await pipeline(createReadStream(file), createGunzip(), createWriteStream(plain));
    } catch (e) {
      rmSync(plain, { force: true });
      throw new BackupError(`${file} looks gzipped but does not decompress: ${(e as Error).message}. Nothing was changed.`);
    }
    try {
      return await restoreJournal(plain, target, now);
    } finally {
      rmSync(plain, { force: true });
    }
  }
  const problems = verifyJournalFile(file);
  if (problems.length) throw new BackupError(`${file} cannot be restored: ${problems.join('; ')}. Nothing was changed.`);
  if (journalInUse(target))
    throw new BackupError(`a bot is running on ${target} (the journal is open in another process): stop it first. Nothing was changed.`);
  let previous: string | null = null;
  let usedBefore = 0;
  if (existsSync(target)) {
    usedBefore = orderSeqIn(target);
    const stem = `${target}.before-restore-${new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
    previous = `${stem}.db`;
    for (let i = 2; existsSync(previous); i++) previous = `${stem}-${i}.db`; // two restores in one second
    await backupJournal(target, previous);
  }
  // The backup API writes every page in one transaction on the destination: a crash midway leaves
  // the old journal as it was (any -wal beside it is recovered first, then overwritten).
  const src = new Database(file, { readonly: true, fileMustExist: true });
  try {
    await src.backup(resolve(target));
  } finally {
    src.close();
  }
  // The backup's counter is behind every id sent since it was taken: go on past all of them.
  const orderSeq = Math.max(orderSeqIn(target), usedBefore) + RESTORE_ORDER_SEQ_GAP;
  writeOrderSeq(target, orderSeq, now);
  const after = verifyJournalFile(target);
  if (after.length) throw new BackupError(`restored journal failed its check: ${after.join('; ')}; the previous journal is at ${previous}`);
  return { previous, orderSeq };
}
