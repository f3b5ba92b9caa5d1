// Candle CSV files: `timestamp_ms,open,high,low,close,volume`, one candle per line (the layout of
// ../shared/data and of every file the bot writes).
//
// Why not a CSV library: the format is fixed and purely numeric (no quoting, no escapes), and a
// byte-level parser over the raw Buffer is several times faster than a general-purpose one (the 8 MB
// 130k-row file loads in ~25 ms warm, ~55-70 ms in a fresh process, about a third of it allocating and
// collecting the Candle objects), which matters for backtests that load many files.
//
// Bad rows never throw. Every line after the header yields exactly one candle, so a candle's array
// index i is file line i + 2; a bad row becomes a candle with NaN in the unparseable fields (the
// validator rejects it as `nan`) and a CsvRowError with its line number and a plain-words message.

import { createReadStream, createWriteStream, openSync, readFileSync, readSync, closeSync } from 'node:fs';
import { basename } from 'node:path';
import type { Candle } from '../core/types.ts';

export const CSV_HEADER = 'timestamp_ms,open,high,low,close,volume';
const NFIELDS = 6;

export interface CsvRowError {
  /** 1-based line number in the file (the header is line 1). */
  line: number;
  message: string;
  /** The offending line, truncated to 200 characters. */
  text: string;
}

export interface CandleCsv {
  /** One candle per data line, in file order; bad rows have NaN fields. */
  candles: Candle[];
  badRows: CsvRowError[];
}

// Exact for mantissas < 2^53 and up to 22 decimals: one IEEE division by an exact power of ten is
// correctly rounded, so the result is bit-identical to parseFloat (Clinger's fast path).
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const MAX_FAST_DIGITS = 15;

const COMMA = 44;
const LF = 10;
const CR = 13;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;

/**
 * Scan a plain decimal (`-123.456`) from buf[i] up to the first other character (or `end`): returns
 * where it stopped; SCANNED holds the value, or NaN when there was no digit or too many for the fast path.
 */
let SCANNED = NaN;
function scanDecimal(buf: Uint8Array, i: number, end: number): number {
  let neg = false;
  if (buf[i] === MINUS) {
    neg = true;
    i++;
  }
  let m = 0;
  let digits = 0;
  let dotAt = -1;
  for (; i < end; i++) {
    const ch = buf[i]!;
    const d = ch - ZERO;
    if (d >= 0 && d <= 9) {
      m = m * 10 + d;
      digits++;
    } else if (ch === DOT && dotAt < 0) {
      dotAt = digits;
    } else break;
  }
  if (digits === 0 || digits > MAX_FAST_DIGITS) SCANNED = NaN;
  else {
    const frac = dotAt < 0 ? 0 : digits - dotAt;
    const v = frac > 0 ? m / POW10[frac]! : m;
    SCANNED = neg ? -v : v;
  }
  return i;
}

/** Parse one numeric field buf[s, e): the fast path, else Number() (exponents, '+', long digits); garbage gives NaN. */
function parseField(buf: Uint8Array, s: number, e: number): number {
  if (s >= e) return NaN;
  if (scanDecimal(buf, s, e) === e && !Number.isNaN(SCANNED)) return SCANNED;
  return slowField(buf, s, e);
}

function slowField(buf: Uint8Array, s: number, e: number): number {
  const txt = Buffer.from(buf.buffer, buf.byteOffset + s, e - s)
    .toString('latin1')
    .trim();
  // Number('') is 0 and Number('0x10') is 16: accept only decimal/exponent notation.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(txt)) return NaN;
  return Number(txt);
}

const FIELD_NAMES = ['timestamp_ms', 'open', 'high', 'low', 'close', 'volume'] as const;

/**
 * Parse the data line buf[s, e) (no newline) into a new candle. Returns the candle; on a bad row
 * pushes a message to `errors` and leaves NaN in the fields it could not read.
 */
function parseLine(
  buf: Uint8Array,
  s: number,
  e: number,
  line: number,
  errors: CsvRowError[] | null,
  onBad?: (err: CsvRowError) => void,
): Candle {
  if (e > s && buf[e - 1] === CR) e--;
  const f = [NaN, NaN, NaN, NaN, NaN, NaN];
  let field = 0;
  let fs = s;
  for (let i = s; i <= e; i++) {
    if (i === e || buf[i] === COMMA) {
      if (field < NFIELDS) f[field] = parseField(buf, fs, i);
      field++;
      fs = i + 1;
    }
  }
  const c: Candle = { ts: f[0]!, open: f[1]!, high: f[2]!, low: f[3]!, close: f[4]!, volume: f[5]! };
  if (field !== NFIELDS || f.some((x) => Number.isNaN(x))) {
    const text = Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1');
    let message: string;
    if (e === s) message = 'empty line';
    else if (field !== NFIELDS) message = `expected ${NFIELDS} columns, got ${field}`;
    else message = `not a number in ${FIELD_NAMES.filter((_, k) => Number.isNaN(f[k])).join(', ')}`;
    const err: CsvRowError = { line, message: `line ${line}: ${message}: "${text.slice(0, 80)}"`, text: text.slice(0, 200) };
    errors?.push(err);
    onBad?.(err);
    if (field !== NFIELDS) {
      // Wrong column count: trust nothing on the line.
      c.ts = c.open = c.high = c.low = c.close = c.volume = NaN;
    }
  }
  return c;
}

/** Check the first line; returns the offset of the first data line. Throws a clear Error when wrong. */
function checkHeader(buf: Uint8Array, end: number, source: string): number {
  let nl = buf.indexOf(LF);
  if (nl < 0 || nl > end) nl = end;
  let he = nl;
  if (he > 0 && buf[he - 1] === CR) he--;
  let hs = 0;
  // Tolerate a UTF-8 byte-order mark.
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) hs = 3;
  const header = Buffer.from(buf.buffer, buf.byteOffset + hs, he - hs)
    .toString('utf8')
    .trim();
  if (header !== CSV_HEADER) {
    const got = end === 0 ? 'an empty file' : `"${header.slice(0, 100)}"`;
    throw new Error(`${source}: not a candle CSV: expected the header "${CSV_HEADER}" on line 1, got ${got}`);
  }
  return nl + 1;
}

// Fast path for one well-formed row starting at i: fills ROW and returns the index of its line end
// (LF or `end`), or -1 when anything is unusual (then the row goes through parseLine).
const ROW = new Float64Array(NFIELDS);
function fastRow(buf: Uint8Array, i: number, end: number): number {
  for (let k = 0; k < NFIELDS; k++) {
    i = scanDecimal(buf, i, end);
    if (Number.isNaN(SCANNED)) return -1;
    ROW[k] = SCANNED;
    if (k < NFIELDS - 1) {
      if (buf[i] !== COMMA) return -1;
      i++;
    } else {
      if (i < end && buf[i] === CR) i++;
      if (i < end && buf[i] !== LF) return -1;
    }
  }
  return i;
}

/** Parse a whole candle CSV held in memory. `source` names it in error messages. */
export function parseCandleCsv(data: Uint8Array | string, source = '<csv>'): CandleCsv {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let end = buf.length;
  // Trailing blank lines are not rows.
  while (end > 0 && (buf[end - 1] === LF || buf[end - 1] === CR)) end--;
  const start = checkHeader(buf, end, source);
  const candles: Candle[] = [];
  const badRows: CsvRowError[] = [];
  let line = 2;
  for (let s = start; s <= end && start <= end; line++) {
    let e = fastRow(buf, s, end);
    if (e >= 0) {
      candles.push({ ts: ROW[0]!, open: ROW[1]!, high: ROW[2]!, low: ROW[3]!, close: ROW[4]!, volume: ROW[5]! });
    } else {
      e = buf.indexOf(LF, s);
      if (e < 0 || e > end) e = end;
      candles.push(parseLine(buf, s, e, line, badRows));
    }
    s = e + 1;
  }
  return { candles, badRows };
}

/** Read a candle CSV file: candles in file order plus the bad rows with their line numbers. */
export function readCandleCsv(path: string): CandleCsv {
  return parseCandleCsv(readFileSync(path), path);
}

/**
 * Load every candle of a file, in file order (no sorting, no de-duplication: run the validator).
 * Bad rows come back as NaN candles; pass `onBadRow` to get their messages.
 */
export function loadCandles(path: string, opts: { onBadRow?: (err: CsvRowError) => void } = {}): Candle[] {
  const { candles, badRows } = readCandleCsv(path);
  if (opts.onBadRow) for (const e of badRows) opts.onBadRow(e);
  return candles;
}

export interface StreamCandlesOptions {
  /** Candles per yielded batch (default 4096). */
  batchSize?: number;
  /** Skip candles with ts ≤ this (resume after a restart). Bad rows (NaN ts) are still yielded. */
  startAfterTs?: number;
  onBadRow?: (err: CsvRowError) => void;
  /** Read chunk size in bytes (default 256 KiB). */
  chunkSize?: number;
}

/**
 * The chunk-by-chunk reader both streams share: the whole lines of each chunk become candles (a
 * chunk's unfinished last line waits, copied, for the next one), in batches of `batchSize`.
 */
class ChunkParser {
  private carry: Buffer | null = null;
  private headerDone = false;
  private line = 2;
  /** Blank lines are rows only if data follows them (trailing ones are dropped, as in loadCandles). */
  private blanks = 0;
  private batch: Candle[] = [];
  private readonly batchSize: number;
  private readonly after: number;

  constructor(
    private readonly source: string,
    private readonly opts: StreamCandlesOptions,
  ) {
    this.batchSize = Math.max(1, opts.batchSize ?? 4096);
    this.after = opts.startAfterTs ?? -Infinity;
  }

  /** Parse the complete lines of `chunk` (the caller may reuse it afterwards); returns the full batches. */
  push(chunk: Buffer): Candle[][] {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    let s = 0;
    if (!this.headerDone) {
      const nl = buf.indexOf(LF);
      if (nl < 0 && buf.length < 4096) {
        this.carry = Buffer.from(buf);
        return [];
      }
      s = checkHeader(buf, nl < 0 ? buf.length : nl, this.source);
      this.headerDone = true;
    }
    for (let nl = buf.indexOf(LF, s); nl >= 0; nl = buf.indexOf(LF, s)) {
      this.take(buf, s, nl);
      s = nl + 1;
    }
    if (s < buf.length) this.carry = Buffer.from(buf.subarray(s));
    return this.full();
  }

  /** End of file: the last line (without a newline), the header check of a file too short to have one. */
  end(): Candle[][] {
    if (!this.headerDone) {
      const b = this.carry ?? Buffer.alloc(0);
      checkHeader(b, b.length, this.source);
      this.carry = null;
    }
    if (this.carry) this.take(this.carry, 0, this.carry.length);
    const out = this.full();
    if (this.batch.length > 0) out.push(this.batch);
    this.batch = [];
    return out;
  }

  private full(): Candle[][] {
    const out: Candle[][] = [];
    const b = this.batch;
    if (b.length < this.batchSize) return out;
    let i = 0;
    for (; i + this.batchSize <= b.length; i += this.batchSize) out.push(b.slice(i, i + this.batchSize));
    this.batch = b.slice(i);
    return out;
  }

  private take(buf: Buffer, s: number, e: number): void {
    const onBad = this.opts.onBadRow;
    if (e === s || (e === s + 1 && buf[s] === CR)) {
      this.blanks++;
    } else {
      for (; this.blanks > 0; this.blanks--) this.batch.push(parseLine(buf, s, s, this.line - this.blanks, null, onBad));
      const c =
        fastRow(buf, s, e) >= 0
          ? { ts: ROW[0]!, open: ROW[1]!, high: ROW[2]!, low: ROW[3]!, close: ROW[4]!, volume: ROW[5]! }
          : parseLine(buf, s, e, this.line, null, onBad);
      if (!(c.ts <= this.after)) this.batch.push(c);
    }
    this.line++;
  }
}

/**
 * Stream a candle CSV in batches with constant memory (one read chunk + one batch), for replays of
 * millions of candles. Same parsing rules as loadCandles. It keeps its own chunk loop rather than
 * ChunkParser's: a replay of 1 M candles through ChunkParser grew to 205–213 MB RSS against 145–155 MB
 * with this loop (bench/memory.ts, A/B on an idle machine; the JS heap after GC stayed ~25 MB: V8 let
 * old space grow between mark-compacts). The cause was not found; each single difference (fast row
 * path, carry copy, batch splitting, yield*) alone did not explain it.
 */
export async function* streamCandles(path: string, opts: StreamCandlesOptions = {}): AsyncGenerator<Candle[]> {
  const batchSize = Math.max(1, opts.batchSize ?? 4096);
  const after = opts.startAfterTs ?? -Infinity;
  const onBad = opts.onBadRow;
  const stream = createReadStream(path, { highWaterMark: opts.chunkSize ?? 256 * 1024 });
  let carry: Buffer | null = null;
  let headerDone = false;
  let line = 2;
  // Blank lines are rows only if data follows them (trailing ones are dropped, as in loadCandles).
  let blanks = 0;
  let batch: Candle[] = [];
  const take = (buf: Buffer, s: number, e: number): void => {
    if (e === s || (e === s + 1 && buf[s] === CR)) {
      blanks++;
    } else {
      for (; blanks > 0; blanks--) batch.push(parseLine(buf, s, s, line - blanks, null, onBad));
      const c = parseLine(buf, s, e, line, null, onBad);
      if (!(c.ts <= after)) batch.push(c);
    }
    line++;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      carry = null;
      let s = 0;
      if (!headerDone) {
        const nl = buf.indexOf(LF);
        if (nl < 0 && buf.length < 4096) {
          carry = buf;
          continue;
        }
        s = checkHeader(buf, nl < 0 ? buf.length : nl, path);
        headerDone = true;
      }
      for (let nl = buf.indexOf(LF, s); nl >= 0; nl = buf.indexOf(LF, s)) {
        take(buf, s, nl);
        s = nl + 1;
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (s < buf.length) carry = buf.subarray(s);
    }
    if (!headerDone) {
      const b = carry ?? Buffer.alloc(0);
      checkHeader(b, b.length, path);
      carry = null;
    }
    if (carry) take(carry, 0, carry.length);
    if (batch.length) yield batch;
  } finally {
    stream.destroy();
  }
}

/**
 * streamCandles without the event loop, for backtests (a synchronous run): batches of candles read
 * chunk by chunk, so a file of millions of candles never sits in memory whole. Same rows as loadCandles.
 */
export function* readCandleBatches(path: string, opts: StreamCandlesOptions = {}): Generator<Candle[]> {
  const parser = new ChunkParser(path, opts);
  const chunk = Buffer.alloc(opts.chunkSize ?? 64 * 1024);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, chunk, 0, chunk.length, null); n > 0; n = readSync(fd, chunk, 0, chunk.length, null)) {
      yield* parser.push(chunk.subarray(0, n));
    }
    yield* parser.end();
  } finally {
    closeSync(fd);
  }
}

/** Read the first `maxRows` candles of a file without loading it (for timeframe detection). */
export function peekCandles(path: string, maxRows = 200): Candle[] {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const data = buf.subarray(0, n);
    // Cut at the last complete line so a half-read row is not reported as bad.
    const lastNl = data.lastIndexOf(LF);
    const text = lastNl >= 0 && n === buf.length ? data.subarray(0, lastNl + 1) : data;
    return parseCandleCsv(text, path).candles.slice(0, maxRows);
  } finally {
    closeSync(fd);
  }
}

/** Format a number for CSV: shortest round-trip form, NaN as "NaN". */
const fmt = (x: number): string => (Number.isFinite(x) ? String(x) : 'NaN');

export const candleCsvLine = (c: Candle): string =>
  `${fmt(c.ts)},${fmt(c.open)},${fmt(c.high)},${fmt(c.low)},${fmt(c.close)},${fmt(c.volume)}\n`;

/** Write candles to a CSV file (header + one line each). Streams, so large arrays are fine. */
export async function writeCandlesCsv(path: string, candles: Iterable<Candle>): Promise<void> {
  const out = createWriteStream(path);
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  let buf = CSV_HEADER + '\n';
  for (const c of candles) {
    buf += candleCsvLine(c);
    if (buf.length >= 1 << 16) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', r));
      buf = '';
    }
  }
  out.end(buf);
  await done;
}

/** Short file name for feed names and messages. */
export const fileLabel = (path: string): string => basename(path);
