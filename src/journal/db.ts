// The journal's database: opening (file checks, WAL, migrations), the prepared statements,
// transactions, WAL checkpoints and the raw runtime_state row access that state-keys.ts types.
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../core/paths.ts';
import { statOrNull } from '../core/file-checks.ts';
import { isStorageFailure, journalOpenError, JournalFileGuard, openJournalDb, WAL_TARGET_SIZE } from './file-guard.ts';
import { HeldWrites } from './held-writes.ts';
import { prepareStatements, type Statements } from './statements.ts';

const CHECKPOINT_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 100');
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', checkpoint);
`;

/** How often, at most, a growing WAL asks the checkpoint worker for a pass between its timed ones. */
const NUDGE_MS = 20;
/** Closing: tries of the final checkpoint, 10 ms apart, while the worker's last pass holds it off. */
const CLOSE_CHECKPOINT_TRIES = 200;

export const MIGRATIONS_DIR = join(PROJECT_ROOT, 'migrations');

/** A new journal's set-up (WAL mode, every migration), run on the file before it takes its name. */
const initJournal = (db: Database.Database): void => {
  db.pragma('journal_mode = WAL');
  migrate(drizzle({ client: db }), { migrationsFolder: MIGRATIONS_DIR });
};

/**
 * `full` journals everything (paper, live). `fills` keeps fills and equity snapshots only: the
 * default of backtests, where per-order bookkeeping rows would cost more than the simulation.
 */
export type JournalDetail = 'full' | 'fills';

export interface JournalOptions {
  /** File path, or ':memory:'. */
  path: string;
  detail?: JournalDetail;
  /** NORMAL survives process crashes (WAL); FULL also survives power loss, at an fsync per commit. */
  synchronous?: 'NORMAL' | 'FULL';
  readonly?: boolean;
  /** Told when a write fails for a reason the process can't fix (disk full, I/O error, read-only file), once per error. */
  onWriteFailure?: (e: Error) => void;
}

/** The tables the housekeeping count knows. */
export type CountedTable = 'orders' | 'fills' | 'decisions' | 'commands' | 'alerts' | 'positions' | 'equity_snapshots' | 'data_events';

export class JournalDb {
  readonly sqlite: Database.Database;
  readonly db: BetterSQLite3Database;
  readonly detail: JournalDetail;
  readonly path: string;
  protected readonly stmts: Statements;
  private checkpointer: Worker | undefined;
  private txDepth = 0;
  private readonly guard: JournalFileGuard | null;
  private readonly onWriteFailure: ((e: Error) => void) | undefined;
  /** better-sqlite3 builds a wrapper per transaction() call: build one, reuse it for every commit. */
  private readonly runTx: (fn: () => unknown) => unknown;
  private lastFailure: Error | undefined;
  private walSizeAtCheckpoint = -1;
  private lastNudge = 0;
  /** State writes a candle group holds until its end (held-writes.ts). */
  readonly held = new HeldWrites();

  constructor(opts: JournalOptions) {
    this.path = opts.path;
    this.detail = opts.detail ?? 'full';
    this.onWriteFailure = opts.onWriteFailure;
    const file = opts.path !== ':memory:';
    this.sqlite = openJournalDb(opts, initJournal, (e) => this.writeFailed(e));
    try {
      this.db = drizzle({ client: this.sqlite });
      this.runTx = this.sqlite.transaction((fn: () => unknown) => fn());
      if (!opts.readonly) this.migrate();
      this.stmts = prepareStatements(this.sqlite, this.db);
    } catch (e) {
      this.sqlite.close();
      throw journalOpenError(opts.path, e);
    }
    this.guard = file ? new JournalFileGuard(resolve(opts.path)) : null;
  }

  /** Tell onWriteFailure, once per error (a statement's failure also fails its transaction). */
  private writeFailed(e: Error): void {
    if (e === this.lastFailure) return;
    this.lastFailure = e;
    this.onWriteFailure?.(e);
  }

  /** null while the journal file is the one opened; otherwise what happened to it (deleted, replaced). */
  fileProblem(): string | null {
    return this.guard?.problem() ?? null;
  }

  migrate(): void {
    migrate(this.db, { migrationsFolder: MIGRATIONS_DIR });
  }

  /**
   * Move WAL checkpoints off the trading thread: a worker with its own connection runs a PASSIVE
   * checkpoint every `intervalMs` (it never blocks our writes), and the main connection's automatic
   * checkpoint is raised to a safety net. Without it an automatic checkpoint lands, with its fsync,
   * inside whichever commit crosses the threshold: milliseconds on the decision path.
   */
  startBackgroundCheckpoints(intervalMs = 1000): void {
    if (this.path === ':memory:' || this.checkpointer) return;
    this.sqlite.pragma('wal_autocheckpoint = 20000');
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.checkpointer = new Worker(CHECKPOINT_WORKER, { eval: true, workerData: { driver, path: resolve(this.path), intervalMs } });
    this.checkpointer.unref();
    this.checkpointer.on('error', () => this.sqlite.open && this.sqlite.pragma('wal_autocheckpoint = 1000'));
  }

  /**
   * Keep the WAL bounded during long max-speed replays, where the worker's timed PASSIVE checkpoints
   * never catch up with a writer that never pauses. Past half of WAL_TARGET_SIZE the worker is asked
   * for a pass (at most every NUDGE_MS): it copies the log into the database on the other core while
   * this thread goes on writing. Once the file has grown past WAL_TARGET_SIZE, this thread (the only
   * writer, between batches, never inside a decision) checkpoints what is left, so the next commit
   * starts the log over and SQLite cuts the file back. The file keeps its size when the log starts
   * over, so only growth past its size at the last checkpoint means the log has outrun it.
   *
   * Profile of a replay of the BTC 1m file with fills: this thread's checkpoints took 209 ms
   * (14 × 15 ms, ~40 µs per fill) when the worker only ran once a second.
   */
  maintainWal(): void {
    if (this.path === ':memory:' || !this.sqlite.open || this.inTransaction) return;
    const size = statOrNull(`${this.path}-wal`)?.size ?? 0;
    if (size > WAL_TARGET_SIZE / 2 && this.checkpointer) {
      const now = performance.now();
      if (now - this.lastNudge >= NUDGE_MS) {
        this.lastNudge = now;
        this.checkpointer.postMessage(0);
      }
    }
    if (size <= WAL_TARGET_SIZE || size === this.walSizeAtCheckpoint) return;
    try {
      const [r] = this.sqlite.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number }>;
      if (r?.busy === 0) this.walSizeAtCheckpoint = size;
    } catch {
      // failing storage: the failing write reports itself
    }
  }

  close(): void {
    if (this.checkpointer) {
      void this.checkpointer.terminate();
      this.checkpointer = undefined;
    }
    if (!this.sqlite.open) return;
    if (this.path !== ':memory:' && !this.sqlite.readonly) {
      try {
        // A clean stop leaves an empty WAL. The worker, terminated just now, may still be finishing
        // a pass (a nudge): SQLite then answers busy at once, so wait for it a little.
        for (let i = 0; i < CLOSE_CHECKPOINT_TRIES; i++) {
          const [r] = this.sqlite.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
          if (r?.busy !== 1) break;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        }
      } catch {
        // a full disk or a lost file: nothing more to save here
      }
    }
    this.sqlite.close();
  }

  /** Tracked in JS (every transaction goes through tx()): asked once per candle, cheaper than the native getter. */
  get inTransaction(): boolean {
    return this.txDepth > 0;
  }

  /** Run `fn` in one SQLite transaction (nested calls join the outer one). */
  tx<T>(fn: () => T): T {
    if (this.txDepth > 0) return fn();
    this.txDepth++;
    try {
      return this.runTx(fn) as T;
    } catch (e) {
      if (isStorageFailure(e)) this.writeFailed(e as Error);
      throw e;
    } finally {
      this.txDepth--;
    }
  }

  // ---- runtime state (typed per key in state-keys.ts) -------------------------------------

  getState<T>(key: string, fallback: T): T {
    const text = this.stmts.rawGetState.get(key) as string | undefined;
    return text === undefined ? fallback : (JSON.parse(text) as T);
  }

  setState(key: string, value: unknown, ts: number): void {
    this.stmts.rawSetState.run(key, JSON.stringify(value), ts);
  }

  /** setState for a number, without allocating: the engine records its progress once per candle. */
  setNumber(key: string, value: number, ts: number): void {
    this.stmts.rawSetState.run(key, String(value), ts);
  }

  // ---- housekeeping -----------------------------------------------------------------------

  count(table: CountedTable): number {
    const r = this.sqlite.prepare(`select count(*) as n from ${table}`).get() as { n: number };
    return r.n;
  }
}
