// The journal is the truth, so the bot must know the moment it can no longer write it: the file was
// deleted or replaced under the running process (writes would go into a ghost nobody can read), or a
// write failed (disk full, I/O error). Either is a fault the bot cannot repair; the Bot halts on it.
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import { statOrNull } from '../core/file-checks.ts';
import { WAL_TARGET_SIZE } from '../journal/file-guard.ts';
import type { Journal } from '../journal/journal.ts';

export interface JournalFault {
  /** lost: the file is gone or another one is in its place. write_failed: a commit failed. */
  kind: 'lost' | 'write_failed';
  reason: string;
  /** Wall-clock time of the detection. */
  since: number;
}

/**
 * Checks the journal's file identity on a timer and before each batch of candles (two stats: cheap
 * next to a batch), hears about failed commits from the journal, and keeps the WAL bounded.
 */
export class JournalHealth {
  fault: JournalFault | null = null;
  private timer: NodeJS.Timeout | undefined;
  private walSizeAtCheckpoint = -1;

  constructor(
    private readonly journal: Journal,
    private readonly wall: Clock,
    private readonly onFault: (f: JournalFault) => void,
  ) {
    journal.onWriteFailure = (e) => this.raise('write_failed', errorMessage(e));
  }

  start(everyMs = 1000): void {
    this.timer ??= setInterval(() => this.check(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Before each batch of writes: false once the journal is at fault (then write nothing more). */
  check(): boolean {
    if (this.fault !== null) return false;
    const lost = this.journal.fileProblem();
    if (lost !== null) {
      this.raise('lost', lost);
      return false;
    }
    this.maintainWal();
    return true;
  }

  /**
   * Keep the WAL bounded during long max-speed replays, where the worker's PASSIVE checkpoints never
   * catch up with a writer that never pauses: once the file has grown past WAL_TARGET_SIZE, this
   * thread (the only writer, between batches, never inside a decision) checkpoints it; the next
   * commit starts the log over and SQLite cuts the file back. The file keeps its size when the log
   * starts over, so only growth past its size at the last checkpoint means the log has outrun it.
   */
  private maintainWal(): void {
    const j = this.journal;
    if (j.path === ':memory:' || !j.sqlite.open || j.inTransaction) return;
    const size = statOrNull(`${j.path}-wal`)?.size ?? 0;
    if (size <= WAL_TARGET_SIZE || size === this.walSizeAtCheckpoint) return;
    try {
      const [r] = j.sqlite.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number }>;
      if (r?.busy === 0) this.walSizeAtCheckpoint = size;
    } catch {
      // failing storage: the failing write reports itself
    }
  }

  private raise(kind: JournalFault['kind'], reason: string): void {
    if (this.fault !== null) return;
    this.fault = { kind, reason, since: this.wall.now() };
    this.onFault(this.fault);
  }
}
