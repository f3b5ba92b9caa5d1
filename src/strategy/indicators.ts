// Streaming indicators: O(1) per update, no allocation after construction (ring buffers are Float64Array).
// Every `update` returns NaN until the indicator is ready, then its main value. Hot loops should call
// `push` (same, returns nothing) and read the getters: a call V8 does not inline boxes a returned double
// into a fresh HeapNumber, i.e. allocates on every candle.
//
// All hand-rolled: each class says why in one line (numbers from bench/indicators.ts, findings in
// test/strategy/indicators-libraries.test.ts). technicalindicators' streaming API is a generator step per value
// (allocates on every update); trading-signals re-scans the window (O(n), Array.shift) for SMA/Bollinger/RSI/ATR.

/**
 * Simple moving average, computed like pandas' `rolling(n).mean()`: a Kahan-compensated running sum (separate
 * compensations for adds and removes, removes first) plus a counter of consecutive identical values, so a
 * window holding one value returns exactly that value (no float drift: fast == slow exactly on flat runs).
 * pandas also clamps a mean whose sign disagrees with all inputs to 0; not needed for prices (all > 0).
 * Not a library: technicalindicators' running sum drifts (ten 28080s → 28079.999999999873); trading-signals is O(n).
 */
export class Sma {
  readonly period: number;
  private readonly buf: Float64Array;
  private head = 0; // next slot to write = oldest value once full
  private count = 0;
  private sum = 0;
  private compAdd = 0;
  private compRemove = 0;
  private same = 0; // how many consecutive inputs (ending with the newest) equal `last`
  private last = NaN;
  private v = NaN;

  constructor(period: number) {
    checkPeriod('Sma', period);
    this.period = period;
    this.buf = new Float64Array(period);
  }

  update(x: number): number {
    this.push(x);
    return this.v;
  }

  push(x: number): void {
    const n = this.period;
    const h = this.head;
    let sum = this.sum;
    if (this.count === n) {
      const y = -this.buf[h]! - this.compRemove;
      const t = sum + y;
      this.compRemove = t - sum - y;
      sum = t;
    } else {
      this.count++;
    }
    this.buf[h] = x;
    this.head = h + 1 === n ? 0 : h + 1;
    const y = x - this.compAdd;
    const t = sum + y;
    this.compAdd = t - sum - y;
    this.sum = t;
    if (x === this.last) {
      this.same++;
    } else {
      this.same = 1;
      this.last = x;
    }
    if (this.count === n) this.v = this.same >= n ? x : t / n;
  }

  get ready(): boolean {
    return this.count === this.period;
  }
  get value(): number {
    return this.v;
  }
  /** True when every value in the full window is identical (the mean is then exact). */
  get flat(): boolean {
    return this.same >= this.period;
  }
}

/**
 * EMA with alpha = 2/(n+1), seeded with the SMA of the first n values (ready after n updates).
 * Not a library: trading-signals seeds with the first price; technicalindicators matches but allocates per value.
 */
export class Ema {
  readonly period: number;
  readonly alpha: number;
  private count = 0;
  private seed = 0;
  private v = NaN;

  constructor(period: number) {
    checkPeriod('Ema', period);
    this.period = period;
    this.alpha = 2 / (period + 1);
  }

  update(x: number): number {
    this.push(x);
    return this.v;
  }

  push(x: number): void {
    if (this.count === this.period) {
      // v + α(x − v) rather than αx + (1−α)v: identical in exact arithmetic, and stays exactly v when x == v.
      this.v += this.alpha * (x - this.v);
    } else {
      this.seed += x;
      if (++this.count === this.period) this.v = this.seed / this.period;
    }
  }

  get ready(): boolean {
    return this.count === this.period;
  }
  get value(): number {
    return this.v;
  }
}

/**
 * Wilder's RSI: average gain/loss seeded with the simple mean of the first n changes, then
 * avg = (avg·(n−1) + x)/n. Ready after n+1 inputs. Computed as 100·gain/(gain+loss) (same as
 * 100 − 100/(1+RS)); no movement at all over the window (gain = loss = 0) gives 50.
 * Not a library: technicalindicators rounds to 2 decimals; trading-signals is O(n) per update (its WSMA keeps an SMA).
 */
export class Rsi {
  readonly period: number;
  private prev = NaN;
  private changes = 0;
  private gain = 0;
  private loss = 0;
  private v = NaN;

  constructor(period: number) {
    checkPeriod('Rsi', period);
    this.period = period;
  }

  update(x: number): number {
    this.push(x);
    return this.v;
  }

  push(x: number): void {
    const prev = this.prev;
    this.prev = x;
    if (prev !== prev) return; // first input: no change yet
    const ch = x - prev;
    const g = ch > 0 ? ch : 0;
    const l = ch < 0 ? -ch : 0;
    const n = this.period;
    let gain: number;
    let loss: number;
    if (this.changes === n) {
      gain = (this.gain * (n - 1) + g) / n;
      loss = (this.loss * (n - 1) + l) / n;
    } else {
      this.gain += g;
      this.loss += l;
      if (++this.changes < n) return;
      gain = this.gain / n;
      loss = this.loss / n;
    }
    this.gain = gain;
    this.loss = loss;
    const d = gain + loss;
    this.v = d === 0 ? 50 : (100 * gain) / d;
  }

  get ready(): boolean {
    return this.changes === this.period;
  }
  get value(): number {
    return this.v;
  }
}

/**
 * Bollinger bands: middle = SMA (the pandas-exact Sma above), bands = middle ± k·σ with σ the population stdev.
 * Numerics: Σx² − (Σx)²/n cancels catastrophically at BTC prices (x² ~ 1e10), and even a sliding Welford
 * update loses ~1e-7 of a tiny σ to the rounding of a 1e5-sized mean. So σ² comes from a sliding Welford
 * update of M2 = Σ(d − mean(d))² on shifted values d = x − K (K = a recent price: d is exact and small), and
 * K, Σd, M2 are recomputed two-pass from the ring buffer every n updates so rounding never accumulates:
 * O(1) amortized. A flat window gives σ = 0 exactly. `update` returns the middle; σ is NaN until ready.
 * Not a library: both recompute σ over the whole window each update (O(n): 1235 / 280 ns vs ~28 ns here).
 */
export class Bollinger {
  readonly period: number;
  readonly k: number;
  private readonly sma: Sma;
  private readonly buf: Float64Array;
  private head = 0;
  private count = 0;
  private shift = 0; // K
  private sumD = 0; // Σ(x − K) over the window
  private m2 = 0;
  private sinceSync = 0;
  private sd = NaN;

  constructor(period: number, k = 2) {
    checkPeriod('Bollinger', period);
    if (!(k > 0) || !Number.isFinite(k)) throw new Error(`Bollinger: k must be a positive number, got ${k}`);
    this.period = period;
    this.k = k;
    this.sma = new Sma(period);
    this.buf = new Float64Array(period);
  }

  update(x: number): number {
    this.push(x);
    return this.sma.value;
  }

  push(x: number): void {
    const n = this.period;
    const h = this.head;
    const full = this.count === n;
    const old = this.buf[h]!;
    this.buf[h] = x;
    this.head = h + 1 === n ? 0 : h + 1;
    this.sma.push(x);
    if (!full && ++this.count < n) return;
    if (this.sma.flat) {
      this.shift = x;
      this.sumD = 0;
      this.m2 = 0;
    } else if (!full || ++this.sinceSync >= n) {
      this.resync();
    } else {
      const K = this.shift;
      const dOld = old - K;
      const dNew = x - K;
      const mOld = this.sumD / n;
      this.sumD += dNew - dOld;
      const m2 = this.m2 + (dNew - dOld) * (dNew - this.sumD / n + dOld - mOld);
      this.m2 = m2 > 0 ? m2 : 0;
    }
    this.sd = Math.sqrt(this.m2 / n);
  }

  /** Two-pass Σd and M2 around a new shift K = the newest value (no argument: a passed double gets boxed). */
  private resync(): void {
    const n = this.period;
    const b = this.buf;
    const x = b[this.head === 0 ? n - 1 : this.head - 1]!;
    let s = 0;
    for (let i = 0; i < n; i++) s += b[i]! - x;
    const m = s / n;
    let m2 = 0;
    for (let i = 0; i < n; i++) {
      const d = b[i]! - x - m;
      m2 += d * d;
    }
    this.shift = x;
    this.sumD = s;
    this.m2 = m2;
    this.sinceSync = 0;
  }

  get ready(): boolean {
    return this.count === this.period;
  }
  get value(): number {
    return this.sma.value;
  }
  get middle(): number {
    return this.sma.value;
  }
  /** Population standard deviation of the window. */
  get stdev(): number {
    return this.sd;
  }
  get upper(): number {
    return this.sma.value + this.k * this.sd;
  }
  get lower(): number {
    return this.sma.value - this.k * this.sd;
  }
}

/**
 * MACD: line = EMA(fast) − EMA(slow) (both SMA-seeded), signal = EMA(signal) of the line, seeded with the SMA
 * of its first `signal` values. `macd` is available after `slow` inputs; `update` returns the line once the
 * signal is ready too (after slow + signal − 1 inputs), NaN before.
 * Not a library: trading-signals seeds with the first price (signal after 26 inputs, not 34); technicalindicators
 * matches but allocates a result object per update.
 */
export class Macd {
  private readonly fast: Ema;
  private readonly slow: Ema;
  private readonly sig: Ema;
  private line = NaN;

  constructor(fast = 12, slow = 26, signal = 9) {
    this.fast = new Ema(fast);
    this.slow = new Ema(slow);
    this.sig = new Ema(signal);
  }

  update(x: number): number {
    this.push(x);
    return this.value;
  }

  push(x: number): void {
    this.fast.push(x);
    this.slow.push(x);
    const s = this.slow.value;
    if (s !== s) return;
    const line = this.fast.value - s;
    this.line = line;
    this.sig.push(line);
  }

  get ready(): boolean {
    return this.sig.ready;
  }
  get value(): number {
    return this.sig.ready ? this.line : NaN;
  }
  get macd(): number {
    return this.line;
  }
  get signal(): number {
    return this.sig.value;
  }
  get histogram(): number {
    return this.line - this.sig.value;
  }
}

/** What Atr reads from a candle. */
export interface HighLowClose {
  readonly high: number;
  readonly low: number;
  readonly close: number;
}

/**
 * Average true range, Wilder-smoothed. TR needs the previous close, so the first candle only primes it (as in
 * TA-Lib and technicalindicators); ATR = mean of the first n TRs, then (atr·(n−1) + tr)/n. Ready after n+1 candles.
 * Takes the candle object rather than three numbers: passing doubles to a call V8 does not inline boxes them.
 * Not a library: trading-signals counts the first candle's high − low (ready a candle early, off for ~250 candles);
 * technicalindicators matches but allocates per update.
 */
export class Atr {
  readonly period: number;
  private prevClose = NaN;
  private count = 0;
  private seed = 0;
  private v = NaN;

  constructor(period = 14) {
    checkPeriod('Atr', period);
    this.period = period;
  }

  update(candle: HighLowClose): number {
    this.push(candle);
    return this.v;
  }

  push(candle: HighLowClose): void {
    const { high, low } = candle;
    const pc = this.prevClose;
    this.prevClose = candle.close;
    if (pc !== pc) return;
    const tr = Math.max(high - low, Math.abs(high - pc), Math.abs(low - pc));
    const n = this.period;
    if (this.count === n) {
      this.v = (this.v * (n - 1) + tr) / n;
    } else {
      this.seed += tr;
      if (++this.count === n) this.v = this.seed / n;
    }
  }

  get ready(): boolean {
    return this.count === this.period;
  }
  get value(): number {
    return this.v;
  }
}

function checkPeriod(what: string, period: number): void {
  if (!Number.isInteger(period) || period < 1) throw new Error(`${what}: period must be an integer ≥ 1, got ${period}`);
}
