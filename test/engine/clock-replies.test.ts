// Every time a reply shows says which clock it is on, or is the engine's: during a replay (the file given
// on the command line, the config saying live data) /health gives no "ago" against the wall clock,
// /status shows the engine's last candle (not the feed's read-ahead), proposals expire on the wall clock
// and say so, and /alerts labels its wall-clock stamps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Bot } from '../../src/app/bot.ts';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { Clock } from '../../src/core/clock.ts';
import { utc } from '../../src/chat/format.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { chatUser, startBot, tempDir, type Harness } from '../helpers/harness.ts';
import { until } from '../helpers/venue-time.ts';

class FakeWall implements Clock {
  t = Date.UTC(2030, 0, 1);
  now(): number {
    return this.t;
  }
}

const viewer = chatUser('viewer');
const SYM = 'BTC/USDT';

describe('clocks in replies during a replay', () => {
  let h: Harness;
  const ask = async (text: string) => (await h.bot.dispatcher.handleText(viewer, text))!.text;

  beforeAll(async () => {
    const dir = tempDir();
    const replay = join(dir, 'cli.csv');
    await generateCsv(replay, 3000, 7);
    h = await startBot({
      dir,
      candles: 300,
      waitForReplay: false,
      config: {
        data: { source: 'live' }, // the replay comes from the command line (--replay)
        approvals: { mode: 'always', holdReplay: true, timeoutSec: 120 },
        chat: { console: { enabled: true, role: 'admin' } },
      },
      bot: { replay, speed: 'max', wallClock: new FakeWall() },
    });
    await until(() => h.bot.approvals.hasPending, 'a proposal holds the replay', 20_000);
  });

  afterAll(async () => {
    h.bot.approvals.setMode('off', undefined, 'test');
    h.bot.approvals.withdraw({}, 'test over', 'test');
    await h.stop();
  });

  it('a proposal expires on the wall clock and says so', () => {
    expect(h.printed()).toMatch(/Expires: +2030-01-01 00:02 UTC \(wall clock\), 2 min to decide/);
  });

  it('/status shows the engine’s last candle in candle time, not the feed’s read-ahead', async () => {
    const engineTs = h.bot.engine.status().lastCandle[SYM]!.ts;
    const feedTs = h.bot.feeds[0]!.state().lastCandleTs!;
    expect(feedTs).toBeGreaterThan(engineTs); // the feed has read ahead of the held engine
    const text = await ask('/status');
    expect(text).toContain(`last candle ${utc(engineTs)} (candle time)`);
    expect(text).not.toContain(utc(feedTs));
    expect(text).toMatch(/Clock: +candle time /);
  });

  it('/health gives the last candle in candle time, not an age against the wall clock', async () => {
    const text = await ask('/health');
    expect(text).toMatch(/last candle \d{4}-\d\d-\d\d \d\d:\d\d UTC \(candle time\)/);
    expect(text).not.toMatch(/last candle .* ago/);
  });

  it('/alerts labels its wall-clock times', async () => {
    h.bot.alerts.raise({ type: 'engine', severity: 'info', title: 'hello', message: 'a test alert' });
    expect(await ask('/alerts')).toMatch(/Recent \(wall clock\):\n[\s\S]* +2030-01-01 00:00 UTC info engine: hello/);
  });
});

describe('the clock before a replay’s first candle', () => {
  it('/status says there is no candle time yet (not 1970)', async () => {
    const dir = tempDir();
    const replay = join(dir, 'cli.csv');
    await generateCsv(replay, 10, 7);
    const config = parseConfig({
      journal: { path: join(dir, 'skipper.db') },
      log: { file: join(dir, 'skipper.log') },
      chat: { console: { enabled: false } },
      data: { source: 'replay', replayFile: replay, speed: 'max' },
    });
    const bot = new Bot({ config, logger: silentLogger(), output: new PassThrough(), input: new PassThrough() });
    try {
      const text = (await bot.dispatcher.handleText(viewer, '/status'))!.text;
      expect(text).toMatch(/Clock: +candle time, no candle yet/);
      expect(text).not.toContain('1970');
    } finally {
      await bot.stop();
    }
  });
});
