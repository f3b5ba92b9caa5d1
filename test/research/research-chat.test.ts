// /backtest and /stress from chat: the running config, in a worker thread, one at a time, cancellable.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../src/chat/types.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { parseBacktestArgs } from '../../src/research/chat-jobs.ts';
import { chatUser, startBot, tempDir, type Harness } from '../helpers/harness.ts';
import { PNG_SIGNATURE } from '../helpers/png.ts';
import { until } from '../helpers/venue-time.ts';
import { utc } from '../../src/core/format.ts';
import { SHARED_DATA } from '../helpers/shared-data.ts';

const admin = chatUser('admin');
const trader = chatUser('trader');

const ask = async (h: Harness, text: string, user = admin): Promise<Reply> => {
  const r = await h.bot.dispatcher.handleText(user, text);
  if (!r) throw new Error(`no reply to ${text}`);
  return r;
};
const auditOf = (h: Harness, command: string) => h.bot.journal.recentCommands(50).filter((c) => c.command === command);

describe('/backtest on the replay the bot runs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startBot({ candles: 3000 });
  });
  afterAll(() => h.stop());

  it('answers with the results table and the equity chart, for admins only', async () => {
    const r = await ask(h, '/backtest 1 strategy.params.fast=5');
    expect(r.title).toBe('Backtest');
    expect(r.text).toContain('with strategy.params.fast=5');
    expect(r.text).toMatch(/Final equity\s+[\d,]+\.\d\d USDT/);
    expect(r.text).toMatch(/Max drawdown\s+[\d.]+%/);
    expect(r.text).toContain('candles.csv');
    expect(r.image?.png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect((await ask(h, '/backtest', trader)).text).toContain('needs the admin role');
  }, 60_000);

  it('refuses unknown paths, bad values and ranges, naming the path; nothing runs', async () => {
    const bad = [
      ['/backtest strategy.params.fsat=3', 'strategy.params.fsat'],
      ['/backtest risk.nope=1', 'risk'],
      ['/backtest risk.stopLossPct=abc', 'risk.stopLossPct'],
      ['/backtest strategy.params.fast=5:30:5', 'strategy.params.fast'],
      ['/backtest strategy.params.fast=50 strategy.params.slow=20', 'fast'],
      ['/backtest soon', '"soon"'],
      ['/backtest 0', 'days must be'],
    ] as const;
    for (const [text, named] of bad) {
      const r = await ask(h, text);
      expect(r.text, text).toContain(named);
      expect(r.title, text).toBeUndefined();
      expect(r.image, text).toBeUndefined();
    }
    expect(auditOf(h, 'backtest').filter((c) => c.outcome === 'invalid').length).toBeGreaterThanOrEqual(bad.length);
  });

  it('says so when there is nothing to cancel', async () => {
    expect((await ask(h, '/backtest cancel')).text).toBe('Nothing is running.');
    expect(parseBacktestArgs('cancel')).toEqual({ cancel: true });
  });
});

describe('/backtest in the middle of a replay', () => {
  it("ends the last N days at the replay's candle time, not at the end of the file (its future)", async () => {
    const h = await startBot({
      candles: 3000,
      waitForReplay: false,
      config: { approvals: { mode: 'always', holdReplay: true, timeoutSec: 3600 } },
    });
    try {
      await until(() => h.bot.approvals.hasPending, 'the replay held by a proposal', 20_000);
      expect(h.bot.engine.clockKind).toBe('candle');
      const now = h.bot.engine.status().now;
      const r = await ask(h, '/backtest 1');
      expect(r.text).toContain(` … ${utc(now)} (`);
      expect(r.text).toContain("up to the replay's candle time)");
    } finally {
      h.bot.approvals.withdraw({}, 'test over', 'test');
      await h.stop();
    }
  }, 60_000);
});

describe('/backtest while it runs', () => {
  let h: Harness;
  let big: string;
  beforeAll(async () => {
    const dir = tempDir();
    big = join(dir, 'big-1m.csv');
    await generateCsv(big, 300_000, 11); // long enough that the run takes over a second
    h = await startBot({ dir, candles: 500, config: { research: { data: { 'BTC/USDT': big } } } });
  }, 60_000);
  afterAll(() => h.stop());

  it('keeps the trading loop responsive (event-loop lag p99 < 10 ms) while a long backtest runs', async () => {
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const t0 = performance.now();
    const r = await ask(h, '/backtest 3650');
    const ms = performance.now() - t0;
    lag.disable();
    expect(r.title, r.text).toBe('Backtest');
    expect(r.text).toContain('big-1m.csv');
    expect(r.text).toContain('the data holds only');
    expect(ms).toBeGreaterThan(1000);
    expect(lag.percentile(99) / 1e6).toBeLessThan(10);
  }, 120_000);

  it('runs one at a time, names who started it, and cancels', async () => {
    const first = ask(h, '/backtest 3650');
    await new Promise((r) => setTimeout(r, 300));
    const busy = await ask(h, '/backtest 5', chatUser('admin', 'u-other'));
    expect(busy.text).toMatch(/^A backtest is already running, started \d+ s ago by u-admin — \/backtest cancel$/);
    const busyStress = await ask(h, '/stress', chatUser('admin', 'u-other'));
    expect(busyStress.text).toContain('A backtest is already running');
    expect((await ask(h, '/backtest cancel')).text).toContain('Cancelling the backtest');
    const r = await first;
    expect(r.text).toBe('The backtest was cancelled: no result.');
    expect(r.image).toBeUndefined();
    // The slot is free again.
    expect((await ask(h, '/backtest cancel')).text).toBe('Nothing is running.');
  }, 120_000);
});

describe('/backtest and /stress without data', () => {
  let h: Harness;
  beforeAll(async () => {
    const dir = tempDir();
    h = await startBot({ dir, candles: 300, config: { research: { dataDir: join(dir, 'nowhere') } } });
  });
  afterAll(() => h.stop());

  it('/stress names the data folder it could not read', async () => {
    const r = await ask(h, '/stress');
    expect(r.text).toContain('No result:');
    expect(r.text).toContain('nowhere');
    expect(r.image).toBeUndefined();
  }, 60_000);
});

describe.skipIf(!existsSync(join(SHARED_DATA, 'binance_spot_BTCUSDT_1h_2020-01-01_2025-10-14.csv')))('/stress on ../shared/data', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startBot({ candles: 300, config: { market: { timeframe: '1h' }, research: { dataDir: SHARED_DATA } } });
  });
  afterAll(() => h.stop());

  it('answers with the crash-window table and the deepest-drawdown chart', async () => {
    const r = await ask(h, '/stress');
    expect(r.title, r.text).toBe('Stress test');
    expect(r.text).toMatch(/^window\s+symbol\s+PnL\s+max DD/);
    expect(r.text).toContain('COVID');
    expect(r.text).toContain('FTX');
    expect(r.image?.png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  }, 180_000);
});

describe('/stress without research.dataDir', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startBot({ candles: 300 });
  });
  afterAll(() => h.stop());

  it('says which config key to set and runs nothing', async () => {
    const r = await ask(h, '/stress');
    expect(r.text).toContain('set research.dataDir');
    expect(r.image).toBeUndefined();
  });
});

describe('research worker threads', () => {
  it('load tsx from the project, not from the working directory (skipper runs from any folder)', async () => {
    const { workerModule } = await import('../../src/research/jobs.ts');
    const { execArgv } = workerModule('chat-worker');
    if (execArgv.length === 0) return; // compiled build: no loader
    expect(execArgv[0]).toBe('--import');
    expect(execArgv[1]).toMatch(/^file:\/\/\/.*\/node_modules\/tsx\//);
  });
});
