// Scheduled backups while the bot runs (croner, `backup.cron`), rotated to `backup.keep`, and the
// latest one for /backup. A failure (folder not writable, disk full) is logged and alerted; trading
// goes on untouched.
import { Cron } from 'croner';
import { dirname, join, resolve } from 'node:path';
import type { AlertSink } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import { backupJournal, listBackups, nextBackupPath, rotateBackups, type BackupResult } from './backup.ts';

export interface BackupSettings {
  cron: string | null;
  timezone: string;
  dir: string | null;
  keep: number;
}

/** Where backups go: the configured folder, or `backups` beside the journal. */
export const backupDir = (journalPath: string, dir: string | null): string =>
  resolve(dir ?? join(dirname(resolve(journalPath)), 'backups'));

export interface BackupObserver {
  backup(outcome: 'ok' | 'failed', r?: BackupResult, at?: number): void;
}

export class BackupService {
  readonly dir: string;
  private job: Cron | undefined;
  private running: Promise<BackupResult> | undefined;

  constructor(
    private readonly o: {
      journalPath: string;
      settings: BackupSettings;
      wall: Clock;
      log: Logger;
      alerts: AlertSink;
      observer?: BackupObserver;
    },
  ) {
    this.dir = backupDir(o.journalPath, o.settings.dir);
  }

  get enabled(): boolean {
    return this.o.journalPath !== ':memory:';
  }

  start(): void {
    const { cron, timezone } = this.o.settings;
    if (!cron || !this.enabled) return;
    this.job = new Cron(cron, { timezone, unref: true, protect: true }, () => {
      void this.run('schedule').catch(() => {
        /* reported in run() */
      });
    });
  }

  stop(): void {
    this.job?.stop();
    this.job = undefined;
  }

  /** Take a backup now (one at a time: a second call joins the running one). */
  run(trigger: 'schedule' | 'command'): Promise<BackupResult> {
    this.running ??= this.take(trigger).finally(() => (this.running = undefined));
    return this.running;
  }

  private async take(trigger: string): Promise<BackupResult> {
    if (!this.enabled) throw new Error('the journal is in memory: nothing to back up');
    const now = this.o.wall.now();
    try {
      const r = await backupJournal(this.o.journalPath, nextBackupPath(this.dir, now));
      const removed = rotateBackups(this.dir, this.o.settings.keep);
      this.o.log.info({ file: r.file, bytes: r.bytes, ms: r.ms, removed: removed.length, trigger }, 'journal backed up');
      this.o.observer?.backup('ok', r, now);
      return r;
    } catch (e) {
      const why = errorMessage(e);
      this.o.log.error({ err: why, dir: this.dir, trigger }, 'journal backup failed');
      this.o.observer?.backup('failed');
      this.o.alerts.raise({
        type: 'backup',
        severity: 'warning',
        title: 'Journal backup failed',
        message: `${why}. Trading continues; the journal itself is unaffected. Fix the folder (backup.dir) and try /backup now.`,
        key: 'backup:failed',
      });
      throw e;
    }
  }

  /** The newest backup on disk, if any. */
  latest(): { file: string; bytes: number; mtimeMs: number } | undefined {
    return listBackups(this.dir)[0];
  }
}
