// CAGR from 2 days of data is not annualised: --json says null, the text says why; long spans keep it.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCsv } from '../../src/market/generator.ts';
import { MIN_CAGR_DAYS, reportedCagr, spanDays } from '../../src/engine/cagr-span.ts';

const backtest = (csv: string, ...extra: string[]) =>
  spawnSync(
    process.execPath,
    ['bin/skipper.js', 'backtest', '--data', csv, '--strategy', 'sma-cross', '--fast', '3', '--slow', '8', ...extra],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );

describe('backtest CAGR on a short file', () => {
  it('2 days of 1m candles: cagr null in --json, "n/a … not annualised" in the text', async () => {
    const csv = join(mkdtempSync(join(tmpdir(), 'skipper-cagr-')), 'c.csv');
    await generateCsv(csv, 2 * 1440, 5);
    const j = backtest(csv, '--json');
    expect(j.status, j.stderr).toBe(0);
    const out = JSON.parse(j.stdout.trim()) as { metrics: Record<string, unknown>; params: Record<string, unknown> };
    expect(out.metrics).toHaveProperty('cagr', null);
    expect(out.params).toEqual({ fast: 3, slow: 8, atrStop: 0, atrPeriod: 14 }); // timeframeMs is the engine's
    expect(typeof out.metrics.total_return).toBe('number');
    const t = backtest(csv);
    expect(t.stdout).toContain(`CAGR n/a: under ${MIN_CAGR_DAYS} days of data, not annualised`);
    // The run's header and figures in the research output's formats (no JSON in the text).
    expect(t.stdout).toMatch(/^BTC\/USDT 1m sma-cross fast=3 slow=8 atrStop=0 atrPeriod=14 on c\.csv\n/);
    expect(t.stdout).toMatch(
      /\nwin rate \d+\.\d%, profit factor (\d+\.\d\d|∞|—), expectancy -?\d+\.\d\d, exposure \d+\.\d%, fees \d+\.\d\d\n/,
    );
  }, 90_000);

  it('from the minimum span on, the CAGR is reported as computed', () => {
    // 720 1h bars: the first opens 30 days before the last closes (Metrics' days counts 719 of them).
    expect(reportedCagr(0.42, spanDays((MIN_CAGR_DAYS * 24 - 1) / 24, 3_600_000))).toBe(0.42);
    expect(reportedCagr(0.42, spanDays((MIN_CAGR_DAYS * 24 - 2) / 24, 3_600_000))).toBeNull();
  });
});
