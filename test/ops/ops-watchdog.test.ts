// The watchdog and the dead-man heartbeat: a stuck trading loop silences the heartbeat and raises
// a critical alert; an event-loop stall is alerted; an unreachable dead-man URL is a warning only;
// `skipper health --check` reads the journal's heartbeat.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { Candle } from '../../src/core/types.ts';
import { Bot } from '../../src/app/bot.ts';
import type { CandleFeed, FeedStatus } from '../../src/market/feed.ts';
import { generateCandles } from '../../src/market/generator.ts';
import { healthCheck } from '../../src/ops/cli.ts';
import { Watchdog } from '../../src/ops/watchdog.ts';
import { MemoryAlertSink } from '../../src/core/alerts.ts';
import { judgeHeartbeat, type HeartbeatRow } from '../../src/ops/heartbeat-state.ts';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { startBot, tempDir } from '../helpers/harness.ts';

/** A live-like feed the test drives: candles when pushed, "up" all along. */
class ManualFeed implements CandleFeed {
  readonly name = 'manual:BTC/USDT:1m';
  readonly symbol = 'BTC/USDT';
  readonly timeframe = '1m' as const;
  status: FeedStatus = 'up';
  private queue: Candle[][] = [];
  private wake: (() => void) | undefined;
  private stopped = false;
  state() {
    return { status: this.status, detail: 'test feed', since: 0 };
  }
  push(cs: Candle[]): void {
    this.queue.push(cs);
    this.wake?.();
  }
  async *batches(): AsyncGenerator<Candle[]> {
    while (!this.stopped) {
      const b = this.queue.shift();
      if (b) {
        yield b;
        continue;
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }
}

/** A dead-man service (healthchecks.io-style): records each ping. */
async function deadMan(): Promise<{ url: string; pings: Array<{ method: string; body: string }>; close(): Promise<void> }> {
  const pings: Array<{ method: string; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      pings.push({ method: req.method ?? '', body });
      res.end('OK');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/ping/abc-uuid`,
    pings,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// Polls the condition (returns as soon as it holds); the limit is generous for a loaded machine.
const until = async (cond: () => boolean, ms = 60_000) => {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function liveBot(config: ConfigInput, wall: { now(): number }) {
  const dir = tempDir();
  const feed = new ManualFeed();
  const cfg = parseConfig({
    journal: { path: join(dir, 'skipper.db') },
    log: { file: join(dir, 'skipper.log') },
    chat: { console: { enabled: false } },
    ...config,
  });
  const bot = new Bot({ config: cfg, logger: silentLogger(), output: new PassThrough(), wallClock: wall, feedFactory: () => feed });
  await bot.start();
  cleanup.push(() => bot.stop());
  return { bot, feed, dir, journal: cfg.journal.path };
}

const alerts = (bot: Bot, title: string) =>
  bot.journal.sqlite.prepare('select severity, title, message from alerts where title like ?').all(`${title}%`) as Array<{
    severity: string;
    title: string;
    message: string;
  }>;

describe('watchdog and dead-man heartbeat', () => {
  it('a stuck feed stops the heartbeat and raises a critical alert; pings resume when candles flow again', async () => {
    const dm = await deadMan();
    cleanup.push(dm.close);
    const candles = generateCandles({ count: 60, seed: 3 });
    const clock = { t: candles[0]!.ts, now: () => clock.t };
    const { bot, feed, journal } = await liveBot({ heartbeat: { url: dm.url, method: 'POST', everySec: 60, staleTimeframes: 3 } }, clock);
    const w = bot.ops.watch!;

    await until(() => dm.pings.length === 1); // healthy at start
    await w.settled();
    feed.push(candles.slice(0, 50));
    await until(() => w.candles === 50);
    clock.t += 61_000;
    expect(w.check()).toEqual({ healthy: true, problems: [] });
    await until(() => dm.pings.length === 2);
    await w.settled(); // the fake counts a ping before the bot has read the answer; a ping in flight skips the next
    expect(dm.pings[1]).toMatchObject({ method: 'POST', body: 'skipper ok: 50 candles since start' });
    expect(healthCheck(journal, clock.t).code).toBe(0);

    // The feed still says "up" but nothing arrives: after 3 timeframes the loop counts as stuck.
    clock.t += 2 * 60_000;
    expect(w.check().healthy).toBe(true); // 2 min quiet is within the limit: still pinging
    await until(() => dm.pings.length === 3);
    await w.settled();
    clock.t += 2 * 60_000;
    const stuck = w.check();
    expect(stuck.healthy).toBe(false);
    expect(stuck.problems[0]).toMatch(/^no candle processed on BTC\/USDT for 4 min while the feed is up \(limit 3 min\)$/);
    const [alert] = alerts(bot, 'Trading loop stuck');
    expect(alert).toMatchObject({ severity: 'critical', title: 'Trading loop stuck on BTC/USDT' });
    expect(alert!.message).toContain('The dead-man heartbeat has stopped');
    clock.t += 10 * 60_000;
    w.check();
    await new Promise((r) => setTimeout(r, 100));
    expect(dm.pings).toHaveLength(3); // no ping while stuck, however long
    expect(alerts(bot, 'Trading loop stuck')).toHaveLength(1); // one alert per episode
    const unhealthy = healthCheck(journal, clock.t);
    expect(unhealthy.code).toBe(1);
    expect(unhealthy.out).toMatch(/^unhealthy: no candle processed on BTC\/USDT/);

    feed.push(candles.slice(50, 51));
    await until(() => w.candles === 51);
    clock.t += 1000;
    expect(w.check().healthy).toBe(true);
    expect(alerts(bot, 'Trading loop moving again')).toHaveLength(1);
    await until(() => dm.pings.length === 4);
  }, 120_000);

  it('pings every everySec, also when that is shorter than the 10 s judgement or not a multiple of it', async () => {
    const dm = await deadMan();
    cleanup.push(dm.close);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance', 'Date'] });
    cleanup.push(async () => void vi.useRealTimers());
    const state = new Map<string, unknown>();
    const w = new Watchdog({
      wall: { now: () => Date.now() },
      log: silentLogger(),
      alerts: new MemoryAlertSink(),
      journal: { getState: (k, fb) => (state.get(k) ?? fb) as never, setState: (k, v) => void state.set(k, v) },
      feeds: () => [],
      holding: () => false,
      heartbeat: { url: dm.url, method: 'GET', everySec: 5, timeoutSec: 5, staleTimeframes: 3, loopStallSec: 60 },
    });
    cleanup.push(async () => w.stop());
    w.start();
    await until(() => dm.pings.length === 1);
    await w.settled();
    for (const [seconds, pings] of [
      [5, 2],
      [5, 3],
      [10, 5],
    ] as const) {
      for (let i = 0; i < seconds; i++) await vi.advanceTimersByTimeAsync(1000);
      await until(() => dm.pings.length >= pings, 5000);
      await w.settled();
      expect(dm.pings).toHaveLength(pings);
    }
  });

  it('a finished replay or a feed that says it is down is not a stuck loop', async () => {
    const clock = { t: Date.UTC(2024, 0, 1), now: () => clock.t };
    const { bot, feed } = await liveBot({}, clock);
    feed.status = 'down';
    clock.t += 60 * 60_000;
    expect(bot.ops.watch!.check().healthy).toBe(true);
    feed.status = 'done';
    expect(bot.ops.watch!.check().healthy).toBe(true);
    feed.status = 'up';
    expect(bot.ops.watch!.check().healthy).toBe(false);
  }, 120_000);

  it('an event-loop stall raises a critical alert', async () => {
    const { bot } = await liveBot({ heartbeat: { loopStallSec: 1 } }, { now: () => Date.now() });
    // Blocked 2.3 s: the 1 s timer fires at least 1.3 s late, whenever in its period the block began.
    const end = performance.now() + 2300;
    while (performance.now() < end) {
      /* block the event loop */
    }
    await until(() => alerts(bot, 'Event loop stalled').length > 0, 3000);
    const [a] = alerts(bot, 'Event loop stalled');
    expect(a!.severity).toBe('critical');
    expect(a!.message).toMatch(/blocked for [12]\.\d s \(limit 1 s\)/);
  }, 120_000);

  it('an unreachable dead-man URL is a logged warning, then one alert; trading goes on', async () => {
    const dm = await deadMan();
    await dm.close(); // nothing listens there any more
    const candles = generateCandles({ count: 40, seed: 5 });
    const clock = { t: candles[0]!.ts, now: () => clock.t };
    const { bot, feed } = await liveBot({ heartbeat: { url: dm.url, timeoutSec: 1 } }, clock);
    const w = bot.ops.watch!;
    await w.settled(); // the ping at start has failed
    for (let i = 0; i < 3; i++) {
      clock.t += 61_000;
      expect(await w.ping()).toBe(false);
    }
    const [a] = alerts(bot, 'Dead-man heartbeat not delivered');
    expect(a!.severity).toBe('warning');
    expect(a!.message).toMatch(/^3 heartbeat pings to 127\.0\.0\.1:\d+ failed in a row \(ECONNREFUSED\)/);
    expect(a!.message).not.toContain('abc-uuid'); // the URL's secret path stays out of alerts
    feed.push(candles);
    await until(() => w.candles === 40);
    expect(bot.engine.status().lastCandle['BTC/USDT']!.ts).toBe(candles.at(-1)!.ts);
  }, 120_000);
});

describe('skipper health --check', () => {
  it('exits 0 while the bot runs, 1 with the reason once it has stopped', async () => {
    const h = await startBot({ candles: 200 });
    const journal = h.bot.journal.path;
    try {
      const r = await promisify(execFile)(process.execPath, ['bin/skipper.js', 'health', '--check', '--path', journal], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
      });
      expect(r.stdout).toMatch(/^healthy: heartbeat \d+ s ago, pid \d+, \d+ candles processed, feeds: BTC\/USDT \w+\n$/);
    } finally {
      await h.stop();
    }
    const after = healthCheck(journal, Date.now());
    expect(after.code).toBe(1);
    expect(after.out).toMatch(/^unhealthy: the bot stopped at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(wall clock\)$/m);
    const missing = healthCheck(join(tempDir(), 'none.db'), Date.now());
    expect(missing).toEqual({ code: 1, out: expect.stringMatching(/^unhealthy: no journal at .*: the bot has not started$/) });
  });

  it('judges a heartbeat row: stale, dead process, watchdog problem', () => {
    const row: HeartbeatRow = {
      ts: 1_000_000,
      pid: 123,
      host: 'h',
      startedAt: 0,
      healthy: true,
      problems: [],
      lastProgressAt: 0,
      candles: 5,
      feeds: [{ symbol: 'BTC/USDT', status: 'up' }],
    };
    expect(judgeHeartbeat(row, 1_030_000, true).healthy).toBe(true);
    expect(judgeHeartbeat(row, 1_090_000, true)).toEqual({
      healthy: false,
      reason: 'heartbeat 90 s old (limit 60 s): the process is stuck or gone',
    });
    expect(judgeHeartbeat(row, 1_010_000, false)).toEqual({ healthy: false, reason: 'the bot process (pid 123) is not running' });
    expect(judgeHeartbeat({ ...row, healthy: false, problems: ['event loop blocked for 12.0 s'] }, 1_010_000, undefined)).toEqual({
      healthy: false,
      reason: 'event loop blocked for 12.0 s',
    });
    expect(judgeHeartbeat(null, 0, undefined).healthy).toBe(false);
  });
});
