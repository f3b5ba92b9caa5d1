// The journal's heartbeat: one runtime_state row the running bot rewrites every few seconds from
// its watchdog, and `skipper health --check` (another process, e.g. Docker's HEALTHCHECK) reads.
// Its verdict lives here; its shape, reader and writer in journal/state-keys.ts.
import { hostname } from 'node:os';
import { STATE, type HeartbeatRow, type StateStore } from '../journal/state-keys.ts';
import { utc } from '../core/format.ts';

export type { HeartbeatRow };

/** How often the running bot rewrites the row. */
export const HEARTBEAT_WRITE_MS = 10_000;
/** A row older than this means the process is gone or its event loop is stuck. */
export const HEARTBEAT_MAX_AGE_MS = 60_000;

export function writeHeartbeat(store: StateStore, row: Omit<HeartbeatRow, 'pid' | 'host'>): void {
  STATE.heartbeat.write(store, { ...row, pid: process.pid, host: hostname() }, row.ts);
}

export function readHeartbeat(store: StateStore): HeartbeatRow | null {
  const v = STATE.heartbeat.read(store);
  return v && typeof v === 'object' && typeof v.ts === 'number' ? v : null;
}

export interface HealthVerdict {
  healthy: boolean;
  /** One line: why not, or what is fine. */
  reason: string;
}

/** Is the process of a heartbeat alive? Only answerable on the same host (and PID namespace). */
export function pidAlive(row: HeartbeatRow): boolean | undefined {
  if (row.host !== hostname()) return undefined;
  try {
    process.kill(row.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const secs = (ms: number) => `${Math.round(ms / 1000)} s`;

/** The health verdict for a heartbeat row read at wall time `now`. */
export function judgeHeartbeat(
  row: HeartbeatRow | null,
  now: number,
  alive: boolean | undefined,
  maxAgeMs = HEARTBEAT_MAX_AGE_MS,
): HealthVerdict {
  if (!row) return { healthy: false, reason: 'no heartbeat in the journal: the bot has not run on it yet' };
  if (row.stoppedAt !== undefined) return { healthy: false, reason: `the bot stopped at ${utc(row.stoppedAt)} (wall clock)` };
  if (alive === false) return { healthy: false, reason: `the bot process (pid ${row.pid}) is not running` };
  const age = now - row.ts;
  if (age > maxAgeMs)
    return { healthy: false, reason: `heartbeat ${secs(age)} old (limit ${secs(maxAgeMs)}): the process is stuck or gone` };
  if (!row.healthy) return { healthy: false, reason: row.problems.join('; ') || 'the watchdog reported a problem' };
  const feeds = row.feeds.map((f) => `${f.symbol} ${f.status}`).join(', ');
  return {
    healthy: true,
    reason: `heartbeat ${secs(Math.max(0, age))} ago, pid ${row.pid}, ${row.candles} candles processed${feeds ? `, feeds: ${feeds}` : ''}`,
  };
}
