// The candle feed the engine consumes: a CSV replay or live exchange data, behind one interface.

import { setTimeout as delay } from 'node:timers/promises';
import { TIMEFRAMES, TIMEFRAME_MS, type Candle, type Timeframe } from '../core/types.ts';

export type FeedStatus = 'connecting' | 'up' | 'down' | 'replaying' | 'done' | 'stopped';

export interface FeedState {
  status: FeedStatus;
  /** Plain words, e.g. "binance unreachable (timeout); retrying in 8 s". */
  detail: string;
  lastCandleTs?: number;
  /** When the status last changed (clock ms). */
  since: number;
}

export interface CandleFeed {
  /** e.g. 'replay:file.csv' or 'binance:BTC/USDT:1m' */
  readonly name: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  state(): FeedState;
  /** Closed candles in time order, in batches (size 1 for live). Ends when the replay is done or stop() is called. */
  batches(): AsyncGenerator<Candle[]>;
  stop(): void;
}

/** The timeframe whose duration is `ms`, if any. */
export function timeframeFromMs(ms: number): Timeframe | undefined {
  return TIMEFRAMES.find((tf) => TIMEFRAME_MS[tf] === ms);
}

/**
 * The timeframe of a series: the most common positive delta between consecutive candles among the
 * first `sample` rows (robust to a few gaps, duplicates and misaligned rows). Throws if it is not a
 * known timeframe or there are fewer than two usable rows.
 */
export function detectTimeframe(candles: readonly Candle[], sample = 500): Timeframe {
  const counts = new Map<number, number>();
  const n = Math.min(candles.length, sample + 1);
  for (let i = 1; i < n; i++) {
    const d = candles[i]!.ts - candles[i - 1]!.ts;
    if (d > 0 && Number.isFinite(d)) counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = 0;
  let bestN = 0;
  for (const [d, k] of counts) {
    if (k > bestN || (k === bestN && d < best)) {
      best = d;
      bestN = k;
    }
  }
  if (bestN === 0) throw new Error(`cannot detect the timeframe: need at least two candles with increasing timestamps`);
  const tf = timeframeFromMs(best);
  if (!tf) throw new Error(`cannot detect the timeframe: the usual spacing is ${best} ms, which is not one of ${TIMEFRAMES.join(', ')}`);
  return tf;
}

/** How feeds wait. Tests inject a fake that advances a SimClock; `signal` aborts the wait on stop(). */
export type SleepFn = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Real timer wait; an abort clears the timer so a stopped feed does not keep the process alive. */
export const realSleep: SleepFn = (ms, signal) => delay(ms, undefined, { signal }).catch(() => undefined);

/** Wait with `sleep`, resolving early (never rejecting) when `signal` aborts. */
export function abortableSleep(sleep: SleepFn, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    sleep(ms, signal).then(done, done);
  });
}
