import { utc as fmtUtc } from './format.ts';

/** Which time a clock keeps: real time, candle time, or candle time moving on after a replay ended. */
export type ClockKind = 'wall' | 'candle' | 'after_replay';

/** The only source of "now" for engine code: wall time live, candle time in replays and backtests. */
export interface Clock {
  now(): number;
  /** Absent: wall time. */
  readonly kind?: ClockKind;
}

export class WallClock implements Clock {
  readonly kind = 'wall';
  now(): number {
    return Date.now();
  }
}

/** Advanced by whoever drives the simulation (the replay loop sets it to each candle's close time). */
export class SimClock implements Clock {
  constructor(protected t = 0) {}
  get kind(): ClockKind {
    return 'candle';
  }
  now(): number {
    return this.t;
  }
  set(t: number): void {
    if (t > this.t) this.t = t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Where the clock of a finished replay took over: candle time `at` was wall time `wall`. */
export interface ReplayEnd {
  at: number;
  wall: number;
}

/**
 * A replay's clock: candle time while candles come, and once the replay has ended, time that moves on
 * from the last candle at wall-clock pace (so interval limits, 24 h counts, halts and expiries keep
 * running, and time never goes backwards). `end()` is persisted by the bot, so a restart continues.
 * The moved-on time lasts only while no new candle comes: a candle newer than the last one processed
 * (the next data file) makes the replay live again, on candle time (`resume()`); the two never mix.
 */
export class ReplayClock extends SimClock {
  private ended: ReplayEnd | null = null;
  /** Told when `resume()` leaves the moved-on time: the time that clock had reached, and where it had started. */
  onResume: ((reached: number, end: ReplayEnd) => void) | undefined;

  constructor(
    private readonly wall: Clock,
    t = 0,
  ) {
    super(t);
  }

  override get kind(): ClockKind {
    return this.ended ? 'after_replay' : 'candle';
  }

  override now(): number {
    const e = this.ended;
    return e ? Math.max(this.t, e.at + Math.max(0, this.wall.now() - e.wall)) : this.t;
  }

  /** The replay ended now (or, from the journal, earlier): from here on the clock moves. */
  end(from?: ReplayEnd): ReplayEnd {
    this.ended = from ?? { at: this.now(), wall: this.wall.now() };
    return this.ended;
  }

  /** A candle the replay had not processed yet arrived: back on candle time (a no-op unless ended). */
  resume(): void {
    const e = this.ended;
    if (!e) return;
    const reached = this.now();
    this.ended = null;
    this.onResume?.(reached, e);
  }
}

/** What a resumed replay says: back on candle time, and how far the moved-on clock had gone. */
export function replayResumedText(reached: number, end: ReplayEnd): string {
  return (
    `New candles after the replay's last one (${fmtUtc(end.at)}): the replay is live again and runs on candle time. ` +
    `Since it ended the clock had moved on to ${fmtUtc(reached)} (replay time); what was stamped then keeps that time.`
  );
}

/** Short words for a clock, to put beside the times it stamped. */
export function clockLabel(kind: ClockKind | undefined): string {
  return kind === 'candle' ? 'candle time' : kind === 'after_replay' ? 'replay time' : 'wall clock';
}

/** Replies label times so the two clocks are never mixed up: " (candle time)" beside a time of the
 * engine's clock when that is not the wall clock, and " (wall clock)" beside a wall-clock time then. */
export const engineTimeNote = (engine: ClockKind | undefined): string => (!engine || engine === 'wall' ? '' : ` (${clockLabel(engine)})`);
export const wallTimeNote = (engine: ClockKind | undefined): string => (!engine || engine === 'wall' ? '' : ' (wall clock)');

export const DAY_MS = 86_400_000;
export const utcDayStart = (t: number): number => t - (((t % DAY_MS) + DAY_MS) % DAY_MS);
