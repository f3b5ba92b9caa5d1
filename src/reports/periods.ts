// Calendar maths for reports: period boundaries in the configured timezone, and date labels.
// croner does the calendar/DST work (it already schedules the reports), Intl does the labels.
import { Cron } from 'croner';
import { UserError, errorMessage } from '../core/errors.ts';

export type PeriodUnit = 'day' | 'week' | 'month';

/** Calendar boundaries: local midnight, Monday midnight, the 1st of the month. */
export const UNIT_PATTERN: Readonly<Record<PeriodUnit, string>> = { day: '0 0 * * *', week: '0 0 * * 1', month: '0 0 1 * *' };

export interface Period {
  start: number;
  /** Exclusive; for the current (partial) period, the trading "now". */
  end: number;
  /** The period is still running. */
  partial?: boolean;
}

/**
 * The instants of a cron pattern in a timezone, without a timer (croner runs none without a callback).
 * croner answers each question by walking the calendar (~0.3 ms for previousRuns); a replay asks about
 * the same few instants after every report, so the last gaps between consecutive instants are kept.
 */
export class Schedule {
  private readonly cron: Cron;
  /** [a, b): consecutive instants with none between them, as croner gave them; newest last. */
  private readonly gaps: Array<readonly [number, number]> = [];

  constructor(
    readonly pattern: string,
    readonly timezone: string,
    what = 'schedule',
  ) {
    try {
      this.cron = new Cron(pattern, { timezone });
      this.cron.nextRun(); // surfaces a bad timezone now rather than at the first run
    } catch (e) {
      throw new UserError(`${what}: invalid cron "${pattern}" or timezone "${timezone}": ${errorMessage(e)}`);
    }
  }

  /** The latest scheduled instant at or before t. */
  atOrBefore(t: number): number | null {
    return this.gapHolding(t, false)?.[0] ?? null;
  }

  /** The scheduled instant strictly before t. */
  before(t: number): number | null {
    return this.gapHolding(t, true)?.[0] ?? null;
  }

  /** The first scheduled instant strictly after t. */
  after(t: number): number | null {
    const g = this.gapHolding(t, false);
    return g ? g[1] : this.next(t);
  }

  /** The gap around t: a ≤ t < b, or a < t ≤ b with `open`; null when no instant comes before t. */
  private gapHolding(t: number, open: boolean): readonly [number, number] | null {
    for (const g of this.gaps) if (open ? g[0] < t && t <= g[1] : g[0] <= t && t < g[1]) return g;
    // previousRuns includes a run earlier in the same second as the reference, so t + 1 includes t itself.
    const a = this.cron.previousRuns(1, new Date(open ? t : t + 1))[0]?.getTime();
    if (a === undefined) return null;
    const b = this.next(a);
    if (b === null) return null;
    const g = [a, b] as const;
    if (this.gaps.push(g) > 8) this.gaps.shift();
    return g;
  }

  private next(t: number): number | null {
    return this.cron.nextRun(new Date(t))?.getTime() ?? null;
  }

  /** The n latest instants at or before t, oldest first. */
  lastN(n: number, t: number): number[] {
    return this.cron
      .previousRuns(n, new Date(t + 1))
      .map((d) => d.getTime())
      .reverse();
  }
}

const schedules = new Map<string, Schedule>();
/** Cached calendar schedule for a unit in a timezone. */
export function unitSchedule(unit: PeriodUnit, timezone: string): Schedule {
  const key = `${unit}|${timezone}`;
  let s = schedules.get(key);
  if (!s) schedules.set(key, (s = new Schedule(UNIT_PATTERN[unit], timezone, 'reports.timezone')));
  return s;
}

/** The last n calendar periods up to `now`, oldest first; the last one is the running period. */
export function recentPeriods(unit: PeriodUnit, n: number, now: number, timezone: string): Period[] {
  const starts = unitSchedule(unit, timezone).lastN(n, now);
  return starts.map((start, i) => {
    const next = starts[i + 1];
    return next !== undefined ? { start, end: next } : { start, end: now, partial: true };
  });
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();
function parts(ts: number, timezone: string): Record<string, string> {
  let f = fmtCache.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    fmtCache.set(timezone, f);
  }
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(ts))) out[p.type] = p.value;
  return out;
}

/** 2024-01-31 in the timezone. */
export function dayLabel(ts: number, timezone: string): string {
  const p = parts(ts, timezone);
  return `${p.year}-${p.month}-${p.day}`;
}

/** 2024-01 in the timezone. */
export function monthLabel(ts: number, timezone: string): string {
  const p = parts(ts, timezone);
  return `${p.year}-${p.month}`;
}

/** Wed 2024-01-31 in the timezone. */
export function weekdayLabel(ts: number, timezone: string): string {
  return `${parts(ts, timezone).weekday} ${dayLabel(ts, timezone)}`;
}

/** 2024-01-31 13:45 in the timezone. */
export function timeLabel(ts: number, timezone: string): string {
  const p = parts(ts, timezone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** 01-31 13:45 in the timezone (compact table cells). */
export function shortTimeLabel(ts: number, timezone: string): string {
  const p = parts(ts, timezone);
  return `${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** Offset of the timezone from UTC at `ts`, in ms (e.g. +3_600_000 for Berlin in winter). */
export function tzOffsetMs(ts: number, timezone: string): number {
  const p = parts(ts, timezone);
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return asUtc - (ts - (((ts % 1000) + 1000) % 1000));
}

/** How a period is named in titles: one day, a calendar month, or a date range. */
export function periodLabel(p: Period, timezone: string): string {
  const first = dayLabel(p.start, timezone);
  const last = dayLabel(Math.max(p.start, p.end - 1), timezone);
  if (first === last) return first;
  const ms = unitSchedule('month', timezone);
  if (ms.atOrBefore(p.start) === p.start && ms.after(p.start) === p.end) return monthLabel(p.start, timezone);
  return `${first} – ${last}`;
}
