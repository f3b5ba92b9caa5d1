import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Candle } from '../../src/core/types.ts';
import {
  CSV_HEADER,
  loadCandles,
  parseCandleCsv,
  readCandleCsv,
  streamCandles,
  writeCandlesCsv,
  type CsvRowError,
} from '../../src/market/csv.ts';
import { generateCandles, generateCsv } from '../../src/market/generator.ts';
import { SHARED_DATA } from '../helpers/shared-data.ts';

const dir = mkdtempSync(join(tmpdir(), 'skipper-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(gen: AsyncGenerator<Candle[]>): Promise<{ candles: Candle[]; sizes: number[] }> {
  const candles: Candle[] = [];
  const sizes: number[] = [];
  for await (const b of gen) {
    sizes.push(b.length);
    candles.push(...b);
  }
  return { candles, sizes };
}

describe('candle CSV', () => {
  it('round-trips generated candles exactly', async () => {
    const candles = generateCandles({ count: 3000, seed: 3 });
    const p = join(dir, 'rt.csv');
    await writeCandlesCsv(p, candles);
    expect(readFileSync(p, 'utf8').split('\n')[0]).toBe(CSV_HEADER);
    expect(loadCandles(p)).toEqual(candles);
    const s = await collect(streamCandles(p, { batchSize: 1000, chunkSize: 4096 }));
    expect(s.candles).toEqual(candles);
    expect(s.sizes).toEqual([1000, 1000, 1000]);
  });

  it('parses numbers bit-identically to Number() (fast path and fallbacks)', () => {
    const fields = [
      '0.1',
      '105573.73',
      '0.00001',
      '-3.5',
      '1e-7',
      '123456789012345678',
      '4.2E3',
      '.5',
      '7.',
      '28080',
      '0.30000000000000004',
    ];
    const text = CSV_HEADER + '\n' + fields.map((x, i) => `${1000 * i},${x},${x},${x},${x},${x}`).join('\n') + '\n';
    const { candles, badRows } = parseCandleCsv(text);
    expect(badRows).toEqual([]);
    candles.forEach((c, i) => {
      expect(c.ts).toBe(1000 * i);
      expect(c.open).toBe(Number(fields[i]));
      expect(c.volume).toBe(Number(fields[i]));
    });
  });

  it('keeps file order: no sorting, no de-duplication', () => {
    const text = `${CSV_HEADER}\n120000,1,1,1,1,1\n60000,2,2,2,2,2\n60000,2,2,2,2,2\n`;
    expect(parseCandleCsv(text).candles.map((c) => c.ts)).toEqual([120000, 60000, 60000]);
  });

  it('turns bad rows into NaN candles with a clear message and line number, never throwing', async () => {
    const text = [
      CSV_HEADER,
      '60000,1,2,0.5,1.5,10', // line 2 ok
      '120000,1,2,0.5,1.5', // 3: 5 columns
      '180000,1,2,abc,1.5,10', // 4: not a number
      '', // 5: empty interior line
      '240000,1,2,0.5,1.5,10,9', // 6: 7 columns
      '300000,1,2,0.5,,10', // 7: empty field
      '360000,1,2,0.5,1.5,10\r', // 8: CRLF is fine
      '0x10,1,2,0.5,1.5,10', // 9: hex is not accepted
      '',
      '',
    ].join('\n');
    const p = join(dir, 'bad.csv');
    writeFileSync(p, text);
    const errs: CsvRowError[] = [];
    const candles = loadCandles(p, { onBadRow: (e) => errs.push(e) });
    expect(candles).toHaveLength(8); // trailing blank lines are not rows
    expect(errs.map((e) => e.line)).toEqual([3, 4, 5, 6, 7, 9]);
    expect(errs[0]!.message).toBe('line 3: expected 6 columns, got 5: "120000,1,2,0.5,1.5"');
    expect(errs[1]!.message).toContain('line 4: not a number in low');
    expect(errs[2]!.message).toContain('line 5: empty line');
    expect(errs[4]!.message).toContain('not a number in close');
    // Line = index + 2; wrong column counts blank every field, bad fields only themselves.
    expect(candles[1]!.ts).toBeNaN();
    expect(candles[2]).toMatchObject({ ts: 180000, open: 1, close: 1.5 });
    expect(candles[2]!.low).toBeNaN();
    expect(candles[6]).toEqual({ ts: 360000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 });
    expect(candles[7]!.ts).toBeNaN();
    // The streaming reader reports the same rows with the same line numbers.
    const serr: CsvRowError[] = [];
    const s = await collect(streamCandles(p, { chunkSize: 7, onBadRow: (e) => serr.push(e) }));
    expect(serr).toEqual(errs);
    expect(s.candles.map((c) => c.ts)).toEqual(candles.map((c) => c.ts));
  });

  it('rejects a wrong or missing header with an Error naming the file and the expected header', async () => {
    const p = join(dir, 'noheader.csv');
    writeFileSync(p, '60000,1,2,0.5,1.5,10\n');
    expect(() => loadCandles(p)).toThrow(
      `${p}: not a candle CSV: expected the header "${CSV_HEADER}" on line 1, got "60000,1,2,0.5,1.5,10"`,
    );
    await expect(collect(streamCandles(p))).rejects.toThrow(CSV_HEADER);
    const e = join(dir, 'empty.csv');
    writeFileSync(e, '');
    expect(() => loadCandles(e)).toThrow('got an empty file');
    await expect(collect(streamCandles(e))).rejects.toThrow(e);
  });

  it('accepts a header-only file and a file without a final newline', async () => {
    const p = join(dir, 'hdr.csv');
    writeFileSync(p, CSV_HEADER);
    expect(loadCandles(p)).toEqual([]);
    expect((await collect(streamCandles(p))).candles).toEqual([]);
    writeFileSync(p, `${CSV_HEADER}\r\n60000,1,2,0.5,1.5,10`);
    expect(readCandleCsv(p)).toEqual({ candles: [{ ts: 60000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 }], badRows: [] });
    expect((await collect(streamCandles(p))).candles).toHaveLength(1);
  });

  it('streams with startAfterTs and stops early without leaking the file handle', async () => {
    const p = join(dir, 'gen.csv');
    await generateCsv(p, 20_000, 9);
    const all = loadCandles(p);
    expect(all).toHaveLength(20_000);
    const after = all[12_345]!.ts;
    const s = await collect(streamCandles(p, { startAfterTs: after }));
    expect(s.candles).toEqual(all.slice(12_346));
    // Breaking out of the loop closes the stream (the finally block runs).
    let n = 0;
    for await (const b of streamCandles(p, { batchSize: 100 })) {
      n += b.length;
      if (n >= 300) break;
    }
    expect(n).toBe(300);
  });
});

const REAL = `${SHARED_DATA}/binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv`;
describe.skipIf(!existsSync(REAL))('real file', () => {
  it('loads the 130,708-row file, and the stream yields the same candles', async () => {
    const all = loadCandles(REAL);
    expect(all).toHaveLength(130_708);
    expect(all[0]).toEqual({ ts: 1747699200000, open: 105573.73, high: 105597.1, low: 105554.31, close: 105554.32, volume: 10.82647 });
    const s = await collect(streamCandles(REAL));
    expect(s.sizes.slice(0, -1).every((n) => n === 4096)).toBe(true);
    expect(s.candles).toEqual(all);
  });
});
