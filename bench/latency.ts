// Decision latency in paper mode with the journal on disk: from a candle close reaching the engine
// to the order being handed to the exchange. Every candle produces a decision (a scripted strategy
// alternates entry and exit), so each sample includes the risk verdict and the journal writes.
// Two runs: `live` (each candle in its own event-loop turn, as a live bot gets them) and `back-to-back`.
import { closeSync, existsSync, mkdtempSync, openSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { AlertService } from '../src/alerts/service.ts';
import { SimClock } from '../src/core/clock.ts';
import { silentLogger } from '../src/core/logger.ts';
import type { Candle, Signal } from '../src/core/types.ts';
import { buildEngine } from '../src/app/kernel.ts';
import { parseConfig } from '../src/config/load.ts';
import { Journal } from '../src/journal/journal.ts';
import { generateCandles } from '../src/market/generator.ts';
import { CandleValidator } from '../src/market/validator.ts';
import { RiskEngine } from '../src/risk/engine.ts';
import { DEFAULT_LIMITS } from '../src/risk/types.ts';
import type { Strategy, StrategyContext } from '../src/strategy/types.ts';

class Alternate implements Strategy {
  readonly name = 'alternate';
  readonly warmup = 0;
  onCandle(c: Candle, ctx: StrategyContext): Signal | null {
    const action = ctx.position === null ? 'enter_long' : 'exit_long';
    return { symbol: 'BTC/USDT', action, ts: c.ts + 60_000, price: c.close, strategy: this.name, reason: 'bench' };
  }
}

export interface LatencyBench {
  decisions: number;
  /** Candle close → order handed to the exchange. */
  p50us: number;
  p99us: number;
  maxUs: number;
  /** Candle close → the candle's transaction committed (intent and venue acceptance durable). */
  committedP50us: number;
  committedP99us: number;
  /** Decisions slower than 1 ms. */
  over1ms: number;
  /** Of those, the ones a V8 collection ran inside (its gc performance entry overlaps the decision). */
  over1msWithGc: number;
  /**
   * Of those, the ones during which the main thread waited ≥ 0.5 ms for a CPU: runnable, not running
   * (run-queue delay from /proc/thread-self/schedstat; null off Linux).
   */
  over1msPreempted: number | null;
  /** The max with each decision's run-queue wait taken out: what the code itself took (null off Linux). */
  maxOnCpuUs: number | null;
  /** `live`: the event loop turned between candles, as it does while a live bot awaits its next one. */
  mode: LatencyMode;
  journal: string;
  /** The machine's own stalls, measured right after: the bare loop below. */
  bare: BareJitter;
}

/** The `p` quantile of ascending ms samples, in µs. */
const pct = (a: readonly number[], p: number): number => a[Math.min(a.length - 1, Math.floor(p * a.length))]! * 1000;

export interface BareJitter {
  iterations: number;
  p50us: number;
  p99us: number;
  maxUs: number;
  over1ms: number;
  /** Slices over 1 ms during which the thread waited ≥ 0.5 ms for a CPU (null off Linux). */
  over1msPreempted: number | null;
  /** The max with each slice's run-queue wait taken out (null off Linux). */
  maxOnCpuUs: number | null;
}

const PREEMPTED_US = 500;

/**
 * The calling thread's run-queue delay so far (µs): time it was runnable but another task had the
 * CPU. Read from /proc/thread-self/schedstat into a preallocated buffer (no allocation per read, so
 * reading it around each decision does not add garbage); null off Linux.
 */
export function runQueueClock(): { read(): number; close(): void } | null {
  if (!existsSync('/proc/thread-self/schedstat')) return null;
  const fd = openSync('/proc/thread-self/schedstat', 'r');
  const buf = Buffer.alloc(96);
  return {
    read(): number {
      const len = readSync(fd, buf, 0, buf.length, 0);
      // "<ns on cpu> <ns waiting on a run queue> <timeslices>": the second field
      let i = 0;
      while (i < len && buf[i] !== 32) i++;
      let ns = 0;
      for (i++; i < len && buf[i]! >= 48 && buf[i]! <= 57; i++) ns = ns * 10 + (buf[i]! - 48);
      return ns / 1000;
    },
    close: () => closeSync(fd),
  };
}

/**
 * Baseline for the tail: a bare loop of arithmetic, no allocation, no I/O, timed `n` times in slices
 * as long as a median decision, turned like the decisions were (`live`: one slice per event-loop turn,
 * so it spans as many seconds as they did). Its max is what this machine (scheduler, hypervisor, the
 * other tenants) adds to any code: a decision's max can't be judged below it.
 */
export async function bareJitter(n: number, sliceUs: number, mode: LatencyMode = 'back-to-back'): Promise<BareJitter> {
  const data = new Float64Array(4096);
  let acc = 0;
  const spin = (k: number) => {
    for (let j = 0; j < k; j++) acc += data[j & 4095]! * 1.0000001 + j;
  };
  const c0 = performance.now();
  spin(2_000_000);
  const perUs = 2_000_000 / ((performance.now() - c0) * 1000);
  const k = Math.max(1, Math.round(perUs * sliceUs));
  const t = new Float64Array(n);
  const waited = new Float64Array(n);
  const rq = runQueueClock();
  for (let i = 0; i < n; i++) {
    const q0 = rq?.read() ?? 0;
    const t0 = performance.now();
    spin(k);
    t[i] = performance.now() - t0;
    waited[i] = (rq?.read() ?? 0) - q0;
    if (mode === 'live') await new Promise((r) => setImmediate(r));
  }
  rq?.close();
  if (acc === -1) console.log(acc); // keeps the loop from being optimised away
  const a = [...t].sort((x, y) => x - y);
  let preempted = 0;
  let onCpu = 0;
  for (let i = 0; i < n; i++) {
    if (t[i]! > 1 && waited[i]! >= PREEMPTED_US) preempted++;
    onCpu = Math.max(onCpu, t[i]! * 1000 - waited[i]!);
  }
  return {
    iterations: n,
    p50us: pct(a, 0.5),
    p99us: pct(a, 0.99),
    maxUs: a[n - 1]! * 1000,
    over1ms: a.filter((x) => x > 1).length,
    over1msPreempted: rq ? preempted : null,
    maxOnCpuUs: rq ? onCpu : null,
  };
}

export type LatencyMode = 'live' | 'back-to-back';

/**
 * `live`: each candle in its own turn of the event loop, as a live bot gets them (a venue message, a
 * poll), so V8's idle-time tasks run between two decisions: a scavenge once the young heap is 80 %
 * full, the end of an incremental mark-compact. `back-to-back`: every candle in one synchronous loop,
 * no idle time at all, which a live bot never sees: V8 then collects inside decisions, on allocation.
 */
export async function benchLatency(n = 5000, mode: LatencyMode = 'live'): Promise<LatencyBench> {
  const gcs: number[] = []; // start, end of every V8 collection (ms, performance.now's timeline)
  const observer = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) gcs.push(e.startTime, e.startTime + e.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  const dir = mkdtempSync(join(tmpdir(), 'skipper-lat-'));
  const path = join(dir, 'journal.db');
  const journal = new Journal({ path, synchronous: 'NORMAL' });
  journal.startBackgroundCheckpoints();
  const clock = new SimClock(0);
  const log = silentLogger();
  const alerts = new AlertService(journal, clock, log, { coalesceMs: 60_000, minSeverity: 'info' });
  // The config's paper venue (books in the journal), built by the kernel: spot, 10,000 USDT, 0.1% fees.
  const config = parseConfig({
    botId: 'sk',
    market: { symbols: ['BTC/USDT'], timeframe: '1m', type: 'spot' },
    exchange: { paper: { startingBalance: { USDT: 10_000 }, makerFee: 0.001, takerFee: 0.001, slippageBps: 0, minNotional: 5 } },
  });
  const { engine, exchange: venue } = buildEngine(config, {
    mode: 'paper',
    clock,
    journal,
    risk: new RiskEngine({
      ...DEFAULT_LIMITS,
      minTradeIntervalSec: 0,
      maxTradesPer24h: 10_000,
      maxConsecutiveLosses: 0,
      maxDailyDrawdown: 1,
    }),
    alerts,
    logger: log,
    strategy: () => new Alternate(),
    validator: () => new CandleValidator('BTC/USDT', '1m'),
    allowShort: false,
    leverage: 1,
    takerFee: 0.001,
    startingCash: 10_000,
    equityEveryMs: 3_600_000,
    persistProgress: true,
  });
  let t0 = 0;
  // Preallocated: the bench's own growing arrays would be promoted and lengthen the GC pauses it measures.
  const samples = new Float64Array(2 * (n + 200));
  const starts = new Float64Array(2 * (n + 200));
  const whole = new Float64Array(n + 200);
  const waited = new Float64Array(2 * (n + 200)); // run-queue delay within each sample, µs
  const rq = runQueueClock();
  let q0 = 0;
  let taken = 0;
  const submit = venue.submit.bind(venue);
  venue.submit = (o) => {
    if (o.purpose === 'entry' || o.purpose === 'exit') {
      starts[taken] = t0;
      samples[taken] = performance.now() - t0;
      waited[taken++] = (rq?.read() ?? 0) - q0;
    }
    submit(o);
  };
  const candles = generateCandles({ count: n + 200, seed: 2, volatility: 0.0005 });
  for (let i = 0; i < candles.length; i++) {
    const c = candles[i]!;
    clock.set(c.ts + 60_000);
    q0 = rq?.read() ?? 0;
    t0 = performance.now();
    engine.onCandle('BTC/USDT', c);
    whole[i] = performance.now() - t0;
    if (mode === 'live') await new Promise((r) => setImmediate(r));
  }
  rq?.close();
  alerts.close();
  journal.close();
  await new Promise((r) => setTimeout(r, 50)); // V8's gc entries reach the observer from the event loop
  observer.disconnect();
  let over1msWithGc = 0;
  let over1msPreempted = 0;
  let maxOnCpuUs = 0;
  for (let i = 200; i < taken; i++) maxOnCpuUs = Math.max(maxOnCpuUs, samples[i]! * 1000 - waited[i]!);
  for (let i = 200; i < taken; i++) {
    if (samples[i]! <= 1) continue;
    if (waited[i]! >= PREEMPTED_US) over1msPreempted++;
    const end = starts[i]! + samples[i]!;
    for (let g = 0; g < gcs.length; g += 2)
      if (gcs[g]! < end && gcs[g + 1]! > starts[i]!) {
        over1msWithGc++;
        break;
      }
  }
  const s = [...samples.subarray(200, taken)].sort((a, b) => a - b); // skip JIT warm-up
  const w = [...whole.subarray(200)].sort((a, b) => a - b);
  const p50us = pct(s, 0.5);
  return {
    decisions: s.length,
    p50us,
    p99us: pct(s, 0.99),
    maxUs: s[s.length - 1]! * 1000,
    committedP50us: pct(w, 0.5),
    committedP99us: pct(w, 0.99),
    over1ms: s.filter((x) => x > 1).length,
    over1msWithGc,
    over1msPreempted: rq ? over1msPreempted : null,
    maxOnCpuUs: rq ? maxOnCpuUs : null,
    mode,
    journal: 'file, WAL, synchronous=NORMAL, background checkpoints',
    bare: await bareJitter(s.length, p50us, mode),
  };
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.log(
    JSON.stringify(await benchLatency(Number(process.argv[2] ?? 5000), process.argv[3] === 'back-to-back' ? 'back-to-back' : 'live')),
  );
