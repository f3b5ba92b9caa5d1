// readCandleBatches (backtests read files chunk by chunk): the same candles, bad rows and errors as loadCandles.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CSV_HEADER, loadCandles, readCandleBatches, writeCandlesCsv, type CsvRowError } from '../../src/market/csv.ts';
import { generateCandles } from '../../src/market/generator.ts';
import { SHARED_DATA } from '../helpers/shared-data.ts';

const dir = mkdtempSync(join(tmpdir(), 'skipper-csvb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const all = (path: string, opts: Parameters<typeof readCandleBatches>[1] = {}) => [...readCandleBatches(path, opts)].flat();

describe('readCandleBatches', () => {
  it('reads generated candles exactly, in batches, whatever the chunk size', async () => {
    const candles = generateCandles({
      count: 3000,
      seed: 3,
      oddities: { flatRuns: [{ at: 100, length: 20 }], gaps: [{ at: 500, length: 3 }] },
    });
    const p = join(dir, 'rt.csv');
    await writeCandlesCsv(p, candles);
    for (const chunkSize of [7, 4096, 1 << 20]) expect(all(p, { chunkSize, batchSize: 500 })).toEqual(candles);
    expect([...readCandleBatches(p, { chunkSize: 4096, batchSize: 500 })].length).toBeGreaterThan(1);
  });

  it('bad rows, blank lines, CRLF and no final newline: the rows and line numbers of loadCandles', () => {
    const text = [
      CSV_HEADER,
      '60000,1,2,0.5,1.5,10',
      '120000,1,2,0.5,1.5',
      '180000,1,2,abc,1.5,10',
      '',
      '240000,1,2,0.5,1.5,10,9',
      '360000,1,2,0.5,1.5,10\r',
      '420000,1,2,0.5,1.5,10',
      '',
      '',
    ].join('\n');
    const p = join(dir, 'bad.csv');
    writeFileSync(p, text);
    const want: CsvRowError[] = [];
    const candles = loadCandles(p, { onBadRow: (e) => want.push(e) });
    for (const chunkSize of [5, 64, 1 << 20]) {
      const got: CsvRowError[] = [];
      expect(all(p, { chunkSize, onBadRow: (e) => got.push(e) })).toEqual(candles);
      expect(got).toEqual(want);
    }
    writeFileSync(p, `${CSV_HEADER}\n60000,1,2,0.5,1.5,10`);
    expect(all(p)).toEqual(loadCandles(p));
  });

  it('a wrong header or an empty file is an Error naming the file', () => {
    const p = join(dir, 'noheader.csv');
    writeFileSync(p, '60000,1,2,0.5,1.5,10\n');
    expect(() => all(p)).toThrow(CSV_HEADER);
    writeFileSync(p, '');
    expect(() => all(p)).toThrow(p);
  });

  it.skipIf(!existsSync(join(SHARED_DATA, 'binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv')))('the real BTC 1m file', () => {
    const f = join(SHARED_DATA, 'binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv');
    expect(all(f)).toEqual(loadCandles(f));
  });
});
