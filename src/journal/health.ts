// The journal is the truth, so the bot must know the moment it can no longer write it: the file was
// deleted or replaced under the running process (writes would go into a ghost nobody can read), or a
// write failed (disk full, I/O error). Either is a fault the bot cannot repair; the Bot halts on it.
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { JournalDb } from './db.ts';

export interface JournalFault {
  /** lost: the file is gone or another one is in its place. write_failed: a commit failed. */
  kind: 'lost' | 'write_failed';
  reason: string;
  /** Wall-clock time of the detection. */
  since: number;
}

/**
 * Checks the journal's file identity on a timer and before each batch of candles (two stats: cheap
 * next to a batch), hears about failed commits from the journal (its onWriteFailure option calls
 * writeFailed), and keeps the WAL bounded.
 */
export class JournalHealth {
  fault: JournalFault | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly journal: Pick<JournalDb, 'fileProblem' | 'maintainWal'>,
    private readonly wall: Clock,
    private readonly onFault: (f: JournalFault) => void,
  ) {}

  /** A commit failed for a reason the process can't fix (the journal's onWriteFailure). */
  writeFailed(e: Error): void {
    this.raise('write_failed', errorMessage(e));
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
    this.journal.maintainWal();
    return true;
  }

  private raise(kind: JournalFault['kind'], reason: string): void {
    if (this.fault !== null) return;
    this.fault = { kind, reason, since: this.wall.now() };
    this.onFault(this.fault);
  }
}
