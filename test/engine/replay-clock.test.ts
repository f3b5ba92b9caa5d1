// After a replay ends, time-based rules (min interval, trades per 24 h, halts) run on a clock that moves
// on from the last candle at wall-clock pace; a restart continues that clock instead of freezing it.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAY_MS, utcDayStart } from '../../src/core/clock.ts';
import { STATE } from '../../src/journal/state-keys.ts';
import { generateCsv } from '../../src/market/generator.ts';
import type { Clock } from '../../src/core/clock.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { Reply } from '../../src/chat/types.ts';
import { chatUser, startBot, tempDir, type Harness } from '../helpers/harness.ts';

class FakeWall implements Clock {
  t = Date.UTC(2030, 0, 1);
  now(): number {
    return this.t;
  }
}

const CONFIG: ConfigInput = {
  strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } }, // never warms up: only chat trades
  risk: { minTradeIntervalSec: 60, maxConsecutiveLosses: 0, maxCapitalInUse: 1 },
};
const trader = chatUser('trader');

/** /buy, confirmed when the bot asks. */
async function buy(h: Harness): Promise<string> {
  const ask = (await h.bot.dispatcher.handleText(trader, '/buy BTC/USDT 0.01')) as Reply;
  const yes = ask.buttons?.flat().find((b) => b.label === 'Confirm');
  if (!yes) return ask.text;
  return (await h.bot.dispatcher.handleButton(trader, yes.data)).edit!.text;
}

describe('the clock after a replay ends', () => {
  it('moves on at wall pace: the minimum interval between entries passes, also after a restart', async () => {
    const wall = new FakeWall();
    const dir = tempDir();
    let h = await startBot({ candles: 300, dir, config: CONFIG, bot: { wallClock: wall } });
    try {
      expect(h.bot.clock.kind).toBe('after_replay');
      expect(await buy(h)).toMatch(/Risk: accepted/);
      expect(h.bot.engine.portfolio.positions.get('BTC/USDT')?.qty).toBe(0.01);
      expect(await buy(h)).toMatch(/rejected by min_trade_interval.*last entry was 0 s ago/);
      const t0 = h.bot.clock.now();
      wall.t += 61_000;
      expect(h.bot.clock.now()).toBe(t0 + 61_000);
      expect(await buy(h)).toMatch(/Risk: accepted/);
      const before = h.bot.clock.now();
      await h.stop();

      wall.t += 30_000;
      // At --speed 60 too: the candles processed before only warm the strategy up, without waiting.
      h = await startBot({ candles: 300, dir, replayFile: h.replay, config: CONFIG, bot: { wallClock: wall, speed: 60 } });
      // The restarted clock continues from where the finished replay left it, never backwards.
      expect(h.bot.clock.now()).toBe(before + 30_000);
      expect(await buy(h)).toMatch(/rejected by min_trade_interval.*last entry was 30 s ago/);
      wall.t += 31_000;
      expect(await buy(h)).toMatch(/Risk: accepted/);
      expect(h.bot.engine.portfolio.positions.get('BTC/USDT')?.qty).toBeCloseTo(0.03, 9);
    } finally {
      await h.stop();
    }
  });

  it('a daily halt ends when the moving clock passes its end, though no candle comes: /risk and the status (which the skipper_halted metric reads) say so', async () => {
    const wall = new FakeWall();
    const h = await startBot({ candles: 300, config: CONFIG, bot: { wallClock: wall } });
    const halted = async (): Promise<string> => {
      const r = (await h.bot.dispatcher.handleText(chatUser('admin'), '/risk')) as Reply;
      return r.text.split('\n').find((l) => l.startsWith('Daily halt'))!;
    };
    try {
      const risk = h.bot.engine.risk;
      const ev = risk.onEquity(h.bot.clock.now(), 1); // equity collapses: the daily drawdown halt
      expect(ev?.kind).toBe('halt');
      expect(h.bot.engine.status().halted).toBe(true);
      expect(await halted()).toMatch(/^Daily halt:\s+yes — daily drawdown halt .* until .* \(replay time\)$/);
      wall.t += 86_400_000; // a day later on the moving clock: past the halt's end, no candle since
      expect(h.bot.engine.status().blocked).toBeNull();
      expect(h.bot.engine.status().halted).toBe(false);
      expect(await halted()).toMatch(/^Daily halt:\s+no$/);
    } finally {
      await h.stop();
    }
  });
  it('a next data file after a finished replay runs on candle time, not on the clock that had moved on', async () => {
    const wall = new FakeWall();
    const dir = tempDir();
    let h = await startBot({ candles: 300, dir, config: CONFIG, bot: { wallClock: wall } });
    const firstEnd = h.bot.clock.now(); // the close of the 300th candle
    wall.t += DAY_MS; // a day later on the moved-on clock: a new UTC day, an entry by hand
    h.bot.engine.risk.onEquity(h.bot.clock.now(), 10_000);
    expect(h.bot.engine.risk.state().dayStart).toBe(utcDayStart(firstEnd + DAY_MS));
    expect(await buy(h)).toMatch(/Risk: accepted/);
    await h.stop();
    wall.t += DAY_MS; // the next file comes two days after the first ended
    const next = join(dir, 'next.csv');
    await generateCsv(next, 600, 7); // the same 300 candles, then 300 new ones
    h = await startBot({ dir, replayFile: next, config: CONFIG, bot: { wallClock: wall } });
    try {
      const last = h.bot.engine.status().lastCandle['BTC/USDT']!;
      expect(last.ts + 60_000).toBe(firstEnd + 300 * 60_000);
      // The new candles ran on their own time: the clock ended again at the last one's close, not two days on.
      expect(h.bot.clock.now()).toBe(last.ts + 60_000);
      expect(STATE.replayEnd.read(h.bot.journal)).toEqual({ at: last.ts + 60_000, wall: wall.t });
      expect(h.printed()).toMatch(
        /the replay is live again and runs on candle time\. Since it ended the clock had moved on to .* \(replay time\)/,
      );
      // The risk rules are on candle time again: the candles' UTC day; the entry stamped ahead counts as made
      // when the new candles began, so the minimum interval has long passed.
      expect(h.bot.engine.risk.state().dayStart).toBe(utcDayStart(last.ts));
      expect(Math.max(...h.bot.engine.risk.state().recentEntries)).toBe(firstEnd);
      expect(await buy(h)).toMatch(/Risk: accepted/);
      await h.stop();

      // The same file again: nothing new, and it says so; the clock moves on from the new end.
      wall.t += 60_000;
      h = await startBot({ dir, replayFile: next, config: CONFIG, bot: { wallClock: wall } });
      expect(h.printed()).toMatch(/Nothing new in replay:.*no candle after the last one processed/);
      expect(h.bot.clock.kind).toBe('after_replay');
      expect(h.bot.clock.now()).toBe(last.ts + 120_000);
    } finally {
      await h.stop();
    }
  });
});
