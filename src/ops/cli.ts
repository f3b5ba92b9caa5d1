// The operations CLI: `skipper health [--check]`, `skipper db backup [FILE]`, `skipper db restore FILE`.
// Each returns the lines to print and an exit code; main.ts only parses arguments.
import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.ts';
import { Journal } from '../journal/journal.ts';
import { backupJournal, fileSize, nextBackupPath, rotateBackups } from './backup.ts';
import { backupDir } from './backup-service.ts';
import { HEARTBEAT_MAX_AGE_MS, judgeHeartbeat, pidAlive, readHeartbeat } from './heartbeat-state.ts';
import { restoreJournal } from './restore.ts';
import { counted } from '../core/format.ts';

export interface CliResult {
  code: number;
  out: string;
}

/** Health of the bot that runs on this journal, from its heartbeat row and its process. */
export function healthCheck(journalPath: string, now: number, maxAgeMs = HEARTBEAT_MAX_AGE_MS): CliResult {
  if (journalPath === ':memory:') return { code: 1, out: 'unhealthy: the journal is in memory; nothing to read' };
  if (!existsSync(journalPath)) return { code: 1, out: `unhealthy: no journal at ${journalPath}: the bot has not started` };
  let j: Journal | undefined;
  try {
    j = new Journal({ path: journalPath, readonly: true });
    const row = readHeartbeat(j);
    const v = judgeHeartbeat(row, now, row ? pidAlive(row) : undefined, maxAgeMs);
    return { code: v.healthy ? 0 : 1, out: `${v.healthy ? 'healthy' : 'unhealthy'}: ${v.reason}` };
  } catch (e) {
    return { code: 1, out: `unhealthy: cannot read the journal at ${journalPath}: ${(e as Error).message}` };
  } finally {
    j?.close();
  }
}

/**
 * `skipper db backup [FILE] [--force]`: an online backup (safe while the bot runs), rotated when it
 * goes to the backup folder. An existing FILE is replaced only with `force`; never the journal itself.
 */
export async function dbBackup(
  cfg: Config,
  journalPath: string,
  file: string | undefined,
  now: number,
  opts: { force?: boolean } = {},
): Promise<CliResult> {
  const dir = backupDir(journalPath, cfg.backup.dir);
  const dest = file ?? nextBackupPath(dir, now);
  const r = await backupJournal(journalPath, dest, { replace: file !== undefined && opts.force === true });
  const removed = file ? [] : rotateBackups(dir, cfg.backup.keep);
  return {
    code: 0,
    out: `${r.file}: ${fileSize(r.bytes)}, integrity ok, ${r.ms} ms${removed.length ? `; ${counted(removed.length, 'old backup')} removed (keep ${cfg.backup.keep})` : ''}`,
  };
}

/** `skipper db restore FILE`: refuses while a bot runs on the journal or when FILE is not intact. */
export async function dbRestore(file: string, journalPath: string, now: number): Promise<CliResult> {
  const r = await restoreJournal(file, journalPath, now);
  return {
    code: 0,
    out:
      `restored ${file} into ${journalPath}` +
      (r.previous ? ` (the previous journal is kept as ${r.previous})` : '') +
      `.\nClient order ids go on from counter ${r.orderSeq + 1}, past every id sent before (the venue keeps them).` +
      '\nStart the bot: it reconciles the restored journal with the venue, as after any restart.',
  };
}
