// The sweep results file: one SQLite row per run, keyed by the run's id (a hash of everything that
// decides its result), so a killed sweep resumes, a run is never counted twice whoever delivers it
// twice, and a finished sweep can be queried later (plain SQL; see README). Not the journal: a
// separate file with its own small schema (versioned with user_version), so no drizzle migrations.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { RunFigures } from './objective.ts';
import type { ParamPoint } from './params.ts';

const VERSION = 1;

export interface RunRow {
  runId: string;
  sweepId: string;
  phase: string;
  window: number;
  params: ParamPoint;
  from: number;
  to: number;
  figures: RunFigures;
  /** The whole RunResult for runs whose curve is kept (walk-forward test windows), else null. */
  result: unknown;
  elapsedMs: number;
  worker: string;
}

export class ResultsStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly get: Database.Statement;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    const v = this.db.pragma('user_version', { simple: true }) as number;
    if (v !== 0 && v !== VERSION) throw new Error(`${path}: results file version ${v}, this skipper reads version ${VERSION}`);
    this.db.exec(`
      create table if not exists sweeps (
        sweep_id text primary key, created_at integer not null, spec text not null,
        status text not null default 'running', finished_at integer
      );
      create table if not exists runs (
        run_id text primary key, sweep_id text not null, phase text not null, window integer not null,
        params text not null, from_ts integer not null, to_ts integer not null,
        metrics text not null, result text, elapsed_ms real not null, worker text not null, created_at integer not null
      );
      create index if not exists runs_sweep on runs (sweep_id, phase, window);
      pragma user_version = ${VERSION};
    `);
    this.insert = this.db.prepare(
      `insert into runs (run_id, sweep_id, phase, window, params, from_ts, to_ts, metrics, result, elapsed_ms, worker, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (run_id) do nothing`,
    );
    this.get = this.db.prepare(`select * from runs where run_id = ?`);
  }

  /** Register a sweep (idempotent: a resumed sweep keeps its first creation time). */
  openSweep(sweepId: string, spec: unknown, now: number): void {
    this.db
      .prepare(`insert into sweeps (sweep_id, created_at, spec) values (?, ?, ?) on conflict (sweep_id) do update set status = 'running'`)
      .run(sweepId, now, JSON.stringify(spec));
  }

  finishSweep(sweepId: string, now: number): void {
    this.db.prepare(`update sweeps set status = 'done', finished_at = ? where sweep_id = ?`).run(now, sweepId);
  }

  /** Record a finished run. Returns false when the run was already there (a duplicate delivery). */
  put(r: RunRow, now: number): boolean {
    return (
      this.insert.run(
        r.runId,
        r.sweepId,
        r.phase,
        r.window,
        JSON.stringify(r.params),
        r.from,
        r.to,
        JSON.stringify(r.figures),
        r.result === null ? null : JSON.stringify(r.result),
        r.elapsedMs,
        r.worker,
        now,
      ).changes > 0
    );
  }

  has(runId: string): boolean {
    return this.get.get(runId) !== undefined;
  }

  row(runId: string): RunRow | undefined {
    const r = this.get.get(runId) as Record<string, unknown> | undefined;
    return r ? toRow(r) : undefined;
  }

  runs(sweepId: string): RunRow[] {
    return (
      this.db.prepare(`select * from runs where sweep_id = ? order by phase, window, rowid`).all(sweepId) as Record<string, unknown>[]
    ).map(toRow);
  }

  count(sweepId: string): number {
    return (this.db.prepare(`select count(*) as n from runs where sweep_id = ?`).get(sweepId) as { n: number }).n;
  }

  /** No run recorded (a refused command's fresh file holds nothing worth keeping). */
  isEmpty(): boolean {
    return this.db.prepare('select 1 from runs limit 1').get() === undefined;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toRow(r: Record<string, unknown>): RunRow {
  return {
    runId: String(r.run_id),
    sweepId: String(r.sweep_id),
    phase: String(r.phase),
    window: Number(r.window),
    params: JSON.parse(String(r.params)) as ParamPoint,
    from: Number(r.from_ts),
    to: Number(r.to_ts),
    figures: JSON.parse(String(r.metrics)) as RunFigures,
    result: r.result === null ? null : (JSON.parse(String(r.result)) as unknown),
    elapsedMs: Number(r.elapsed_ms),
    worker: String(r.worker),
  };
}
