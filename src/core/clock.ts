/** The only source of "now" for engine code: wall time live, candle time in replays and backtests. */
export interface Clock {
  now(): number;
}

export class WallClock implements Clock {
  now(): number {
    return Date.now();
  }
}

/** Advanced by whoever drives the simulation (the replay loop sets it to each candle's close time). */
export class SimClock implements Clock {
  constructor(private t = 0) {}
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

export const DAY_MS = 86_400_000;
export const utcDayStart = (t: number): number => t - (((t % DAY_MS) + DAY_MS) % DAY_MS);
export const isoDay = (t: number): string => new Date(utcDayStart(t)).toISOString().slice(0, 10);
