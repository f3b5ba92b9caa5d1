// Replays a candle CSV as a feed: as fast as possible (backtests, fast paper runs) or at N× real time.

import { statSync } from 'node:fs';
import { errorMessage } from '../core/errors.ts';
import { WallClock, type Clock } from '../core/clock.ts';
import { TIMEFRAME_MS, type Candle, type Timeframe } from '../core/types.ts';
import { fileLabel, peekCandles, streamCandles, type CsvRowError } from './csv.ts';
import { abortableSleep, detectTimeframe, realSleep, type CandleFeed, type FeedState, type FeedStatus, type SleepFn } from './feed.ts';
import { Resampler } from './resample.ts';
import { CandleValidator, type CandleIssue, type JumpRule } from './validator.ts';
import { counted } from '../core/format.ts';

export { detectTimeframe };

export interface ReplayFeedOptions {
  symbol: string;
  path: string;
  /** Timeframe of the file; detected from its first rows when absent (and checked when given). */
  timeframe?: Timeframe;
  /** 'max': whole batches as fast as the consumer takes them. N: N× real time, one candle per batch. */
  speed: number | 'max';
  /** Skip candles with ts ≤ this (resume a paper replay after a restart). Applies to output candles. */
  startAfterTs?: number;
  /** Yield candles with ts ≤ this without waiting, whatever the speed (after a restart they only warm up). */
  fastUntilTs?: number;
  /** Aggregate the file's candles into this timeframe (e.g. a 1m file for a 5m strategy). */
  resampleTo?: Timeframe;
  clock?: Clock;
  sleep?: SleepFn;
  /** Batch size at 'max' speed (default 4096). */
  batchSize?: number;
  /** Bad CSV rows (they also reach the engine as NaN candles, unless resampling drops them). */
  onBadRow?: (err: CsvRowError) => void;
  /**
   * When resampling, source candles are validated first so a duplicate or NaN row cannot poison a
   * bucket; rejected ones are dropped. Every source issue is reported here.
   */
  onIssue?: (issue: CandleIssue) => void;
  /** The jump rule for that source-level validation (default DEFAULT_JUMP_RULE). */
  jump?: Partial<JumpRule>;
}

/**
 * Everything start-up checks about a replay file (`skipper config check` runs the same): it exists, is
 * a file, is a candle CSV with at least two candles, and its timeframe fits. Returns the timeframe.
 */
export function inspectReplayFile(path: string, o: { timeframe?: Timeframe; resampleTo?: Timeframe } = {}): Timeframe {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new Error(`replay file not found: ${path}`);
  if (st.isDirectory()) throw new Error(`${path} is a directory, not a candle CSV file`);
  let head: Candle[];
  try {
    head = peekCandles(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw code ? new Error(`cannot read ${path} (${code})`) : e;
  }
  const usable = head.filter((c) => Number.isFinite(c.ts));
  let detected: Timeframe | undefined;
  if (usable.length >= 2) {
    try {
      detected = detectTimeframe(usable);
    } catch (e) {
      throw new Error(`${path}: ${errorMessage(e)}`);
    }
  } else if (!o.timeframe) {
    const what =
      head.length === 0 ? 'no candles after the header' : `${counted(usable.length, 'readable candle')} in its first ${head.length} rows`;
    throw new Error(`${path}: ${what}; at least two are needed to tell the timeframe`);
  }
  if (o.timeframe && detected && o.timeframe !== detected) {
    throw new Error(`${path} holds ${detected} candles, but the timeframe given is ${o.timeframe}`);
  }
  const src = (o.timeframe ?? detected)!;
  if (o.resampleTo && TIMEFRAME_MS[o.resampleTo] % TIMEFRAME_MS[src] !== 0) {
    throw new Error(`cannot replay ${src} candles as ${o.resampleTo}: ${o.resampleTo} is not a multiple of ${src}`);
  }
  return src;
}

export class ReplayFeed implements CandleFeed {
  readonly name: string;
  readonly symbol: string;
  /** The timeframe of the candles this feed yields (resampleTo when set). */
  readonly timeframe: Timeframe;
  /** The timeframe of the file. */
  readonly sourceTimeframe: Timeframe;
  private readonly clock: Clock;
  private readonly sleep: SleepFn;
  private readonly abort = new AbortController();
  private st: FeedState;

  constructor(private readonly opts: ReplayFeedOptions) {
    if (opts.speed !== 'max' && !(typeof opts.speed === 'number' && opts.speed > 0)) {
      throw new Error(`replay speed must be 'max' or a positive number, got ${String(opts.speed)}`);
    }
    this.symbol = opts.symbol;
    this.clock = opts.clock ?? new WallClock();
    this.sleep = opts.sleep ?? realSleep;
    const src = inspectReplayFile(opts.path, opts);
    this.sourceTimeframe = src;
    this.timeframe = opts.resampleTo ?? src;
    this.name = `replay:${fileLabel(opts.path)}`;
    this.st = { status: 'connecting', detail: 'not started', since: this.clock.now() };
  }

  state(): FeedState {
    return { ...this.st };
  }

  stop(): void {
    if (this.st.status !== 'done') this.set('stopped', 'stopped');
    this.abort.abort();
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private set(status: FeedStatus, detail: string): void {
    this.st = {
      status,
      detail,
      since: this.clock.now(),
      ...(this.st.lastCandleTs !== undefined ? { lastCandleTs: this.st.lastCandleTs } : {}),
    };
  }

  async *batches(): AsyncGenerator<Candle[]> {
    if (this.stopped) return;
    const { speed } = this.opts;
    this.set('replaying', speed === 'max' ? `${this.name} at max speed` : `${this.name} at ${speed}× real time`);
    const gapMs = speed === 'max' ? 0 : TIMEFRAME_MS[this.timeframe] / speed;
    const fastUntil = this.opts.fastUntilTs ?? -Infinity;
    let first = true;
    for await (const batch of this.output()) {
      if (this.stopped) return;
      if (speed === 'max') {
        this.st.lastCandleTs = batch[batch.length - 1]!.ts;
        yield batch;
        continue;
      }
      for (const c of batch) {
        if (!first && c.ts > fastUntil) await abortableSleep(this.sleep, gapMs, this.abort.signal);
        first = false;
        if (this.stopped) return;
        this.st.lastCandleTs = c.ts;
        yield [c];
      }
    }
    if (!this.stopped) this.set('done', `replay finished${this.st.lastCandleTs !== undefined ? '' : ' (no candles)'}`);
  }

  /** Non-empty batches of output candles (resampled, after startAfterTs). */
  private async *output(): AsyncGenerator<Candle[]> {
    const o = this.opts;
    const after = o.startAfterTs ?? -Infinity;
    const batchSize = o.batchSize ?? 4096;
    const read = streamCandles(o.path, {
      batchSize,
      ...(o.onBadRow ? { onBadRow: o.onBadRow } : {}),
      // Without resampling, skip at the parser; with it, whole buckets are skipped below.
      ...(o.resampleTo || o.startAfterTs === undefined ? {} : { startAfterTs: o.startAfterTs }),
    });
    try {
      if (!o.resampleTo || o.resampleTo === this.sourceTimeframe) {
        for await (const b of read) if (b.length) yield b;
        return;
      }
      const validator = new CandleValidator(o.symbol, this.sourceTimeframe, o.jump);
      const r = new Resampler(this.sourceTimeframe, o.resampleTo);
      let out: Candle[] = [];
      for await (const b of read) {
        for (const c of b) {
          const res = validator.check(c);
          if (res.issues.length && o.onIssue) for (const is of res.issues) o.onIssue(is);
          if (!res.accepted) continue;
          for (let k = r.push(c); k; k = r.shift()) if (k.ts > after) out.push(k);
        }
        if (out.length) {
          yield out;
          out = [];
        }
        if (this.stopped) return;
      }
      // The bucket still open at the end of the file is dropped unless complete: a live feed would not
      // have closed it yet, and emitting it would make a resume skip its later, complete version.
      const tail = r.flush();
      if (tail && tail.ts > after && r.lastComplete) out.push(tail);
      if (out.length) yield out;
    } finally {
      await read.return(undefined);
    }
  }
}
