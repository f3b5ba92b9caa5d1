import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Candle, Timeframe } from '../../src/core/types.ts';
import { loadCandles } from '../../src/market/csv.ts';
import { generateCandles } from '../../src/market/generator.ts';
import {
  CHECK_OK,
  CandleValidator,
  MAX_PRICE,
  MIN_PRICE,
  alertForIssue,
  isoRange,
  isoUtc,
  validateSeries,
  type CandleIssue,
  type IssueKind,
} from '../../src/market/validator.ts';
import { SHARED_DATA } from '../helpers/shared-data.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2024, 0, 1);
const c = (ts: number, o = 100, h = 101, l = 99, cl = 100.5, v = 1): Candle => ({ ts, open: o, high: h, low: l, close: cl, volume: v });

function kinds(r: { issues: readonly CandleIssue[] }): IssueKind[] {
  return r.issues.map((i) => i.kind);
}

describe('CandleValidator on synthetic candles', () => {
  it('returns the shared frozen OK constant on the good path', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    for (const x of generateCandles({ count: 500, seed: 7 })) expect(v.check(x)).toBe(CHECK_OK);
    expect(Object.isFrozen(CHECK_OK)).toBe(true);
    expect(Object.isFrozen(CHECK_OK.issues)).toBe(true);
    expect(v.lastTs).toBe(T0 + 499 * MIN);
  });

  it.each([
    ['ts', { ts: NaN }],
    ['open', { open: NaN }],
    ['high', { high: Infinity }],
    ['volume', { volume: NaN }],
  ])('rejects a non-finite %s as nan', (field, patch) => {
    const v = new CandleValidator('BTC/USDT', '1m');
    const r = v.check({ ...c(T0), ...patch });
    expect(r.accepted).toBe(false);
    expect(kinds(r)).toEqual(['nan']);
    expect(r.issues[0]!.severity).toBe('reject');
    expect(r.issues[0]!.detail).toContain(field);
  });

  it('a stray line (no number in it) is named as such; a candle without a readable time says so', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    const junk = v.check({ ts: NaN, open: NaN, high: NaN, low: NaN, close: NaN, volume: NaN });
    expect(junk.issues[0]!.detail).toBe('nan: a line with no number in it, not a candle');
    expect(v.check({ ...c(T0), ts: NaN }).issues[0]!.detail).toMatch(/^nan: non-finite ts at an unreadable time \(/);
  });

  it('rejects negative prices and volumes', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    expect(kinds(v.check(c(T0, 100, 101, 99, 100, -1)))).toEqual(['negative']);
    expect(kinds(v.check(c(T0, -1, 101, -2, 100)))).toEqual(['negative']);
  });

  it('rejects OHLC inconsistencies', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    const hl = v.check(c(T0, 100, 98, 99, 98.5));
    expect(kinds(hl)).toEqual(['ohlc']);
    expect(hl.issues[0]!.detail).toContain('high < low');
    expect(v.check(c(T0, 102, 101, 99, 100)).issues[0]!.detail).toContain('open outside');
    expect(v.check(c(T0, 100, 101, 99, 98)).issues[0]!.detail).toContain('close outside');
    expect(v.lastTs).toBeUndefined();
  });

  it('rejects timestamps off the UTC grid', () => {
    const v = new CandleValidator('ETH/USDT', '1h');
    const r = v.check(c(1518168494800));
    expect(kinds(r)).toEqual(['misaligned']);
    expect(r.issues[0]!.detail).toBe('misaligned: 2018-02-09T09:28:14.800Z is not on the 1h grid (UTC)');
    const d = new CandleValidator('BTC/USDT', '1d');
    expect(d.check(c(T0 + HOUR)).accepted).toBe(false);
    expect(d.check(c(T0)).accepted).toBe(true);
  });

  it('rejects duplicates, saying whether identical or conflicting, and out-of-order candles', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    v.check(c(T0));
    v.check(c(T0 + MIN));
    const same = v.check(c(T0 + MIN));
    expect(kinds(same)).toEqual(['duplicate']);
    expect(same.issues[0]!.identical).toBe(true);
    expect(same.issues[0]!.detail).toContain('identical');
    const other = v.check(c(T0 + MIN, 100, 102, 99, 101));
    expect(other.issues[0]!.identical).toBe(false);
    expect(other.issues[0]!.detail).toContain('conflicting');
    const old = v.check(c(T0));
    expect(kinds(old)).toEqual(['out_of_order']);
    expect(old.issues[0]!.detail).toBe('out_of_order: 2024-01-01T00:00:00Z arrived after 2024-01-01T00:01:00Z');
  });

  it('does not let a rejected candle become the last accepted one', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    v.check(c(T0));
    expect(v.check({ ...c(T0 + 5 * MIN), close: NaN }).accepted).toBe(false);
    expect(v.lastTs).toBe(T0);
    // The next good candle sees a gap from T0, not from the rejected one.
    const r = v.check(c(T0 + MIN));
    expect(r).toBe(CHECK_OK);
  });

  it('warns about gaps with the count and missing range, and keeps the candle', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    v.check(c(Date.UTC(2023, 2, 24, 12, 39)));
    const r = v.check(c(Date.UTC(2023, 2, 24, 14, 0)));
    expect(r.accepted).toBe(true);
    expect(kinds(r)).toEqual(['gap']);
    const g = r.issues[0]!;
    expect(g.severity).toBe('warn');
    expect(g.missing).toBe(80);
    expect(g.from).toBe(Date.UTC(2023, 2, 24, 12, 40));
    expect(g.to).toBe(Date.UTC(2023, 2, 24, 13, 59));
    expect(g.detail).toBe('gap: 80 missing 1m candles 2023-03-24T12:40:00Z–13:59:00Z');
    expect(v.lastTs).toBe(Date.UTC(2023, 2, 24, 14, 0));
    v.check(c(Date.UTC(2023, 2, 24, 14, 2)));
    expect(v.lastTs).toBe(Date.UTC(2023, 2, 24, 14, 2));
  });

  it('warns about zero volume and flat candles (both on a halted-market candle)', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    expect(kinds(v.check(c(T0, 100, 101, 99, 100, 0)))).toEqual(['zero_volume']);
    expect(kinds(v.check(c(T0 + MIN, 100, 100, 100, 100, 3)))).toEqual(['flat']);
    const halt = v.check(c(T0 + 3 * MIN, 100, 100, 100, 100, 0));
    expect(halt.accepted).toBe(true);
    expect(kinds(halt)).toEqual(['gap', 'zero_volume', 'flat']);
    expect(halt.issues.every((i) => i.severity === 'warn')).toBe(true);
  });

  it('formats UTC times', () => {
    expect(isoUtc(Date.UTC(2021, 3, 25, 4, 1))).toBe('2021-04-25T04:01:00Z');
    expect(isoRange(Date.UTC(2018, 1, 8, 1), Date.UTC(2018, 1, 11, 3))).toBe('2018-02-08T01:00:00Z–2018-02-11T03:00:00Z');
    expect(isoRange(T0, T0)).toBe('2024-01-01T00:00:00Z');
  });

  it('maps issues to alerts', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    v.check(c(T0));
    const gap = v.check(c(T0 + 3 * MIN)).issues[0]!;
    expect(alertForIssue(gap)).toMatchObject({
      type: 'data_gap',
      severity: 'warning',
      title: 'BTC/USDT gap',
      message: '2 missing 1m candles 2024-01-01T00:01:00Z–00:02:00Z', // not "gap: 2 missing …" under the title "… gap"
    });
    const dup = v.check(c(T0 + 3 * MIN)).issues[0]!;
    expect(alertForIssue(dup)).toMatchObject({ type: 'bad_candle', severity: 'warning' });
  });
});

describe('CandleValidator: impossible prices and jumps', () => {
  /** 30 quiet 1m candles at 100 (±0.05 % ranges): enough history for the jump rule. */
  const warm = (v: CandleValidator, n = 30): number => {
    for (let i = 0; i < n; i++) expect(v.check(c(T0 + i * MIN, 100, 100.05, 99.95, 100 + (i % 2) * 0.02)).accepted).toBe(true);
    return T0 + n * MIN;
  };

  it.each([
    ['zero', 0, 'zero price'],
    ['1e-300', 1e-300, 'price outside'],
    ['1e300', 1e300, 'price outside'],
  ])('rejects o=h=l=c=%s as bad_price (not just a flat warning)', (_name, p, text) => {
    const v = new CandleValidator('BTC/USDT', '1m');
    const r = v.check(c(T0, p, p, p, p, 5));
    expect(r.accepted).toBe(false);
    expect(kinds(r)).toEqual(['bad_price']);
    expect(r.issues[0]!.detail).toContain(text);
    expect(kinds(v.check(c(T0 + MIN, 100, 101, 0, 100)))).toEqual(['bad_price']);
    expect(MIN_PRICE).toBeLessThan(1e-8);
    expect(MAX_PRICE * 100).toBeLessThan(2 ** 53);
  });

  it('holds a ×1000 spike with consistent OHLC, then drops it when the next candle is back at the old level', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    const t = warm(v);
    const spike = v.check(c(t, 100_000, 100_000, 100_000, 100_000));
    expect(spike.accepted).toBe(false);
    expect(kinds(spike)).toEqual(['jump']);
    expect(spike.issues[0]!.detail).toMatch(
      /^jump: high 100000 is 1000× the last close 100\.02 \(\d+ σ\) at 2024-01-01T00:30:00Z; held until the next candle confirms it$/,
    );
    expect(alertForIssue(spike.issues[0]!)).toMatchObject({ type: 'bad_candle', severity: 'warning' });
    // Back to normal: accepted without a gap warning (the held slot is not missing), the spike never was.
    expect(v.check(c(t + MIN, 100, 100.04, 99.96, 100.01))).toBe(CHECK_OK);
    expect(v.lastTs).toBe(t + MIN);
  });

  it('a wick spike (only the high) is held too', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    const t = warm(v);
    expect(kinds(v.check(c(t, 100, 100_000, 99.8, 100)))).toEqual(['jump']);
    expect(kinds(v.check(c(t + MIN, 100, 100.2, 0.01, 100)))).toEqual(['jump']);
  });

  it('a real jump is held for one candle, then confirmed by the next and traded on from there', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    const t = warm(v);
    expect(kinds(v.check(c(t, 100, 130, 100, 129)))).toEqual(['jump']);
    const next = v.check(c(t + MIN, 129, 129.2, 128.9, 129.1));
    expect(next.accepted).toBe(true);
    expect(kinds(next)).toEqual(['jump_confirmed']);
    expect(next.issues[0]!.detail).toContain('the move to 129 at');
    // The new level is the reference now.
    expect(v.check(c(t + 2 * MIN, 129.1, 129.2, 129, 129.05))).toBe(CHECK_OK);
  });

  it('a second, different jump replaces the held candle; moves under jumpMinPct or before warm-up are never held', () => {
    const v = new CandleValidator('BTC/USDT', '1m');
    const t = warm(v);
    expect(kinds(v.check(c(t, 1000, 1000, 1000, 1000)))).toEqual(['jump']);
    expect(kinds(v.check(c(t + MIN, 10, 10, 10, 10)))).toEqual(['jump']);
    expect(kinds(v.check(c(t + 2 * MIN, 10, 10.005, 9.995, 10)))).toEqual(['jump_confirmed']);
    const q = new CandleValidator('BTC/USDT', '1m');
    const t2 = warm(q);
    expect(q.check(c(t2, 100, 109, 100, 108)).accepted).toBe(true); // +9 %: a big candle, not a jump
    const cold = new CandleValidator('BTC/USDT', '1m');
    cold.check(c(T0));
    expect(cold.check(c(T0 + MIN, 1000, 1000, 1000, 1000)).accepted).toBe(true);
    const off = new CandleValidator('BTC/USDT', '1m', { sigmas: null });
    expect(off.check(c(warm(off), 1000, 1000, 1000, 1000)).accepted).toBe(true);
  });

  it('a gap widens what counts as a jump (σ √candles elapsed)', () => {
    const v = new CandleValidator('BTC/USDT', '1m', { sigmas: 10 });
    const t = warm(v);
    expect(kinds(v.check(c(t, 115, 115.05, 114.95, 115)))).toEqual(['jump']);
    const w = new CandleValidator('BTC/USDT', '1m', { sigmas: 10 });
    const t2 = warm(w);
    expect(w.check(c(t2 + 1000 * MIN, 115, 115.05, 114.95, 115)).accepted).toBe(true);
  });
});

describe('validateSeries on generated oddities', () => {
  it('finds each injected oddity once', () => {
    const candles = generateCandles({
      count: 2000,
      seed: 42,
      oddities: {
        gaps: [{ at: 100, length: 7 }],
        duplicates: [200],
        flatRuns: [{ at: 300, length: 4 }],
        misaligned: [400],
        nan: [500],
      },
    });
    expect(candles).toHaveLength(2001); // 2000 bars + 1 duplicate row
    const r = validateSeries(candles, 'BTC/USDT', '1m');
    // A rejected bar (misaligned, NaN) leaves its slot empty, so the next good bar reports a 1-candle gap.
    expect(r.counts).toEqual({
      nan: 1,
      negative: 0,
      bad_price: 0,
      ohlc: 0,
      misaligned: 1,
      duplicate: 1,
      out_of_order: 0,
      jump: 0,
      gap: 3,
      zero_volume: 4,
      flat: 4,
      jump_confirmed: 0,
    });
    expect(r.issues.filter((i) => i.kind === 'gap').map((i) => i.missing)).toEqual([7, 1, 1]);
    expect(r.missingCandles).toBe(9);
    expect(r.accepted).toHaveLength(2001 - 3);
    // indexes point back into the input (line = index + 2 for a CSV).
    const nanAt = r.indexes[r.issues.findIndex((i) => i.kind === 'nan')];
    expect(nanAt).toBe(501); // bar 500, shifted by the duplicate row after bar 200
  });
});

// ------------------------------------------------------------------------------------------------
// Real Binance files (see ../shared/data/SOURCES.md). Skipped when the directory is absent.
// ------------------------------------------------------------------------------------------------

const DATA = SHARED_DATA;
const f = (name: string): string => join(DATA, name);
const utc = (s: string): number => Date.parse(s + 'Z');

describe.skipIf(!existsSync(DATA))('validator on the real files (SOURCES.md)', () => {
  it('BTCUSDT 1m 2023: 72 flat zero-volume candles 11:28–12:39, then one 80-minute gap 12:40–13:59', () => {
    const r = validateSeries(loadCandles(f('binance_spot_BTCUSDT_1m_2023-03-16_2023-05-01.csv')), 'BTC/USDT', '1m');
    expect(r.counts).toMatchObject({
      nan: 0,
      negative: 0,
      ohlc: 0,
      misaligned: 0,
      duplicate: 0,
      out_of_order: 0,
      gap: 1,
      zero_volume: 72,
      flat: 72,
    });
    const zero = r.issues.filter((i) => i.kind === 'zero_volume');
    const flat = r.issues.filter((i) => i.kind === 'flat');
    expect(zero.map((i) => i.ts)).toEqual(flat.map((i) => i.ts));
    expect(zero[0]!.ts).toBe(utc('2023-03-24T11:28'));
    expect(zero[71]!.ts).toBe(utc('2023-03-24T12:39'));
    expect(zero.every((i) => i.candle.close === 28080)).toBe(true);
    const gap = r.issues.find((i) => i.kind === 'gap')!;
    expect(gap).toMatchObject({ missing: 80, from: utc('2023-03-24T12:40'), to: utc('2023-03-24T13:59') });
    expect(gap.detail).toBe('gap: 80 missing 1m candles 2023-03-24T12:40:00Z–13:59:00Z');
  });

  it('BTCUSDT 1m 2021: one gap of 284 minutes 2021-04-25 04:01–08:44', () => {
    const r = validateSeries(loadCandles(f('binance_spot_BTCUSDT_1m_2021-04-20_2021-05-20.csv')), 'BTC/USDT', '1m');
    expect(r.issues.map((i) => [i.kind, i.missing, isoUtc(i.from!), isoUtc(i.to!)])).toEqual([
      ['gap', 284, '2021-04-25T04:01:00Z', '2021-04-25T08:44:00Z'],
    ]);
  });

  it('BTCUSDT 5m 2019-20: exactly one identical duplicate at 2020-03-08 10:40 and gaps of 24, 12, 70, 25', () => {
    const candles = loadCandles(f('binance_spot_BTCUSDT_5m_2019-11-15_2020-03-12.csv'));
    const r = validateSeries(candles, 'BTC/USDT', '5m');
    const dups = r.issues.filter((i) => i.kind === 'duplicate');
    expect(dups).toHaveLength(1);
    expect(dups[0]).toMatchObject({ ts: utc('2020-03-08T10:40'), identical: true });
    const gaps = r.issues.filter((i) => i.kind === 'gap');
    expect(gaps.map((g) => [g.missing, isoUtc(g.from!), isoUtc(g.to!)])).toEqual([
      [24, '2019-11-25T02:00:00Z', '2019-11-25T03:55:00Z'],
      [12, '2020-02-09T02:00:00Z', '2020-02-09T02:55:00Z'],
      [70, '2020-02-19T11:40:00Z', '2020-02-19T17:25:00Z'],
      [25, '2020-03-04T09:25:00Z', '2020-03-04T11:25:00Z'],
    ]);
    expect(r.issues).toHaveLength(5);
    expect(r.accepted).toHaveLength(candles.length - 1);
  });

  it('BTCUSDT 1h 2020-25: 15 gaps totalling 32 hours and 2 zero-volume candles', () => {
    const r = validateSeries(loadCandles(f('binance_spot_BTCUSDT_1h_2020-01-01_2025-10-14.csv')), 'BTC/USDT', '1h');
    expect(r.counts).toMatchObject({ nan: 0, negative: 0, ohlc: 0, misaligned: 0, duplicate: 0, out_of_order: 0, gap: 15, zero_volume: 2 });
    expect(r.missingCandles).toBe(32);
    const gapStarts = r.issues.filter((i) => i.kind === 'gap').map((g) => isoUtc(g.from!).slice(0, 13));
    expect(gapStarts).toEqual([
      '2020-02-09T02',
      '2020-02-19T12',
      '2020-03-04T10',
      '2020-04-25T02',
      '2020-06-28T02',
      '2020-11-30T06',
      '2020-12-21T14',
      '2020-12-25T02',
      '2021-02-11T04',
      '2021-03-06T02',
      '2021-04-20T02',
      '2021-04-25T05',
      '2021-08-13T02',
      '2021-09-29T07',
      '2023-03-24T13',
    ]);
    expect(r.issues.filter((i) => i.kind === 'zero_volume').map((i) => isoUtc(i.ts))).toEqual([
      '2021-02-11T03:00:00Z',
      '2023-03-24T12:00:00Z',
    ]);
    // Both zero-volume hours are also flat (trading halts); no other hour is.
    expect(r.counts.flat).toBe(2);
  });

  it('ETHUSDT 1h 2017-21: 43 misaligned candles, 5 zero-volume, 25 gaps (163 missing hours once misaligned rows are rejected)', () => {
    const r = validateSeries(loadCandles(f('binance_spot_ETHUSDT_1h_2017-08-17_2021-07-03.csv')), 'ETH/USDT', '1h');
    const mis = r.issues.filter((i) => i.kind === 'misaligned');
    expect(mis).toHaveLength(43);
    expect(mis[0]!.ts).toBe(1518168494800);
    expect(isoUtc(mis[42]!.ts)).toBe('2018-02-11T03:28:14.800Z');
    expect(r.counts).toMatchObject({ nan: 0, negative: 0, ohlc: 0, duplicate: 0, out_of_order: 0, gap: 25, zero_volume: 5 });
    expect(r.issues.filter((i) => i.kind === 'zero_volume').map((i) => isoUtc(i.ts).slice(0, 13))).toEqual([
      '2017-08-19T23',
      '2017-09-09T20',
      '2019-06-07T21',
      '2020-12-21T14',
      '2021-02-11T03',
    ]);
    // SOURCES.md counts "about 120" missing hours treating the misaligned rows as present: its largest
    // gap is 2018-02-08 01:00 → 2018-02-09 09:28 (32 missing hours). With those rows rejected, the hole
    // runs to the next aligned candle (2018-02-11 04:00): 75 missing hours, so 120 - 32 + 75 = 163.
    const big = r.issues.find((i) => i.kind === 'gap' && i.from === utc('2018-02-08T01:00'))!;
    expect(big).toMatchObject({ missing: 75, to: utc('2018-02-11T03:00') });
    expect(r.missingCandles).toBe(163);
    expect(r.missingCandles - 75 + 32).toBe(120);
    // Two early flat hours had some volume (thin 2017 market), so flat is 7, not 5.
    expect(r.counts.flat).toBe(7);
  });

  it('the jump rule never fires on any real file (crashes of March 2020 and May 2021, the 2023 halt), even at 30 σ', () => {
    for (const name of readdirSync(DATA).filter((n) => n.endsWith('.csv'))) {
      const tf = /_(\d+[mhd])_/.exec(name)![1] as Timeframe;
      const candles = loadCandles(f(name));
      const strict = new CandleValidator('X/USDT', tf, { sigmas: 30 });
      const fired = candles.map((x) => strict.check(x)).flatMap((r) => r.issues.filter((i) => i.kind === 'jump' || i.kind === 'bad_price'));
      expect(
        fired.map((i) => i.detail),
        name,
      ).toEqual([]);
    }
  });

  it.each([
    ['binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv', '1m', 130_708],
    ['binance_spot_ETHUSDT_1m_2025-05-20_2025-08-18.csv', '1m', 130_708],
    ['binance_spot_ETHUSDT_1m_2021-05-15_2021-06-15.csv', '1m', 44_447],
    ['binance_spot_ETHUSDT_5m_2022-10-01_2023-01-02.csv', '5m', 26_999],
    ['binance_spot_BTCUSDT_1d_2017-08-17_2026-01-19.csv', '1d', 3_078],
  ] as const)('%s: no reject-level issue and no gap', (name, tf, rows) => {
    const candles = loadCandles(f(name));
    expect(candles).toHaveLength(rows);
    const r = validateSeries(candles, 'X/USDT', tf);
    expect(r.issues.filter((i) => i.severity === 'reject' || i.kind === 'gap')).toEqual([]);
    expect(r.accepted).toHaveLength(rows);
  });
});
