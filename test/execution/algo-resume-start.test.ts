// A TWAP left active when the bot stopped: the restart names it in the start notice and /status, and one far past
// its plan (here 6 h after a 10-minute TWAP) is stopped with the reason instead of buying on at a stale plan. It
// used to resume silently whatever the gap. Found by a trial helper.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../src/app/kernel.ts';
import { parseConfig } from '../../src/config/load.ts';
import { SimClock } from '../../src/core/clock.ts';
import { Journal } from '../../src/journal/journal.ts';
import { ManualClock, chatUser, feedCandle, reply, startBot, tempDir, type Harness } from '../helpers/harness.ts';
import type { Reply } from '../../src/chat/types.ts';
import type { ConfigInput } from '../../src/config/schema.ts';

const SYM = 'BTC/USDT';
const trader = chatUser('trader');
const send = (h: Harness, text: string): Promise<Reply> => reply(h, trader, text);
const CFG: ConfigInput = {
  strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
  risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, stopLossPct: 0.05 },
};

/** A 10-minute TWAP (5 slices, 2 min apart) with its first slice sent, then the bot stopped; restarted `downMs` later. */
async function restartAfter(downMs: number): Promise<{ b: Harness; id: string; before: number }> {
  const dir = tempDir();
  const wall = new ManualClock();
  const a = await startBot({ candles: 300, config: CFG, dir, bot: { wallClock: wall } });
  const ask = await send(a, `/buy ${SYM} 2% twap 10m`);
  const done = (await a.bot.dispatcher.handleButton(trader, ask.buttons!.flat().find((b) => b.label === 'Confirm')!.data)).edit!;
  const id = /as (\S+) —/.exec(done.text)![1]!;
  const before = a.bot.algos.parents.children(id).length;
  await a.stop();
  wall.t += downMs;
  const b = await startBot({ candles: 300, config: CFG, dir, bot: { wallClock: wall } });
  await new Promise((r) => setTimeout(r, 600)); // the algo timer ticks
  return { b, id, before };
}

describe('a parent left active by the last run', () => {
  it('6 h later: the start banner names it, it is stopped with the reason, no slice goes out', async () => {
    const { b, id, before } = await restartAfter(6 * 3_600_000);
    try {
      expect(b.printed()).toMatch(new RegExp(`TWAP ${id} buy [0-9.]+ ${SYM}: 1 of 5 slices sent`));
      const row = b.bot.algos.parents.get(id)!;
      expect(row.status).toBe('stopped');
      expect(row.reason).toMatch(/past its plan/);
      expect(b.bot.algos.parents.children(id)).toHaveLength(before);
      expect((await send(b, '/status')).text).not.toMatch(/Parent orders/);
    } finally {
      await b.stop();
    }
  });

  it('a minute later: the banner says it resumes and how to stop it; /status names it; its slices go on', async () => {
    const { b, id } = await restartAfter(60_000);
    try {
      expect(b.printed()).toMatch(new RegExp(`TWAP ${id} .*resumes now, /cancel ${id} stops it`));
      expect(b.bot.algos.parents.get(id)!.status).toBe('active');
      expect((await send(b, '/status')).text).toMatch(
        new RegExp(`Parent orders: +1 active: ${id} \\(twap buy ${SYM}, \\d/5 slices sent\\)`),
      );
      for (let i = 0; i < 12; i++) feedCandle(b, SYM);
      expect(b.bot.algos.parents.get(id)!.status).toBe('done');
    } finally {
      await b.stop();
    }
  });

  it('live (the clock at start is the present): one far past its plan is stopped before the first tick, the notice says so', () => {
    const cfg = parseConfig({
      botId: 'sk',
      strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
      risk: { minTradeIntervalSec: 0 },
    });
    const journal = new Journal({ path: join(tempDir(), 'j.db') });
    // As the bot starts: the notice (resumeAtStart) comes before the first candle or timer tick.
    const boot = (t: number) => {
      const clock = new SimClock(t);
      const k = buildEngine(cfg, { mode: 'paper', clock, journal });
      k.engine.setMarket(SYM, k.exchange.market(SYM));
      const notice = k.algos!.resumeAtStart();
      k.engine.onCandle(SYM, { ts: t - 60_000, open: 30_000, high: 30_000, low: 30_000, close: 30_000, volume: 10 });
      return { algos: k.algos!, notice };
    };
    const T0 = Date.UTC(2025, 0, 1);
    const { algos } = boot(T0);
    const started = algos.start({ symbol: SYM, side: 'buy', qty: 0.01, algo: 'twap', by: 'ada' });
    expect(started.ok).toBe(true);
    const id = started.ok ? started.parent.id : '';
    // 2 minutes on (within the plan): it resumes, and its next slice goes out.
    const soon = boot(T0 + 2 * 60_000);
    expect(soon.notice).toEqual([`TWAP ${id} buy 0.01 ${SYM}: 1 of 5 slices sent, 0 filled; resumes now, /cancel ${id} stops it`]);
    expect(soon.algos.parents.get(id)).toMatchObject({ status: 'active', sent: 2 });
    // 6 hours on: stopped before any slice, with the reason.
    const late = boot(T0 + 6 * 3_600_000);
    expect(late.notice).toHaveLength(1);
    expect(late.notice[0]).toMatch(
      new RegExp(`^TWAP ${id} buy 0.01 ${SYM}: 2 of 5 slices sent, .*; stopped: slice 3 is 5 h 56 min past its plan`),
    );
    expect(late.algos.parents.get(id)).toMatchObject({ status: 'stopped', sent: 2 });
    expect(late.algos.parents.children(id)).toHaveLength(2);
    // An iceberg has no schedule (a duration is only the least time between clips): it is named, and resumes.
    const ice = late.algos.start({ symbol: SYM, side: 'buy', qty: 0.01, algo: 'iceberg', durationMs: 10 * 60_000, by: 'ada' });
    const iceId = ice.ok ? ice.parent.id : '';
    const later = boot(T0 + 12 * 3_600_000);
    expect(later.notice).toEqual([expect.stringMatching(new RegExp(`^ICEBERG ${iceId} .*; resumes now`))]);
    expect(later.algos.parents.get(iceId)!.status).toBe('active');
    journal.close();
  });
});
