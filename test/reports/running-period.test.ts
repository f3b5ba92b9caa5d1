// The running period of /daily, /weekly, /monthly and /chart ends at the engine's "now" and at its equity,
// read together: a clock that moves between two reads (live, or after a replay) must not drop the live
// point and leave the running period as "—".
import { afterAll, describe, expect, it } from 'vitest';
import { money, signedMoney } from '../../src/chat/format.ts';
import type { EngineStatus } from '../../src/engine/engine.ts';
import { Journal } from '../../src/journal/journal.ts';
import { buildHistoryReply, renderChart, type ReportSource } from '../../src/reports/build.ts';

const D = (d: number, h = 0): number => Date.UTC(2024, 0, d, h);

describe('the running period on a moving clock', () => {
  const journal = Journal.memory();
  journal.recordEquity(D(3, 12), 10_000, 10_000, 0, 0); // yesterday; nothing yet today
  afterAll(() => journal.close());
  // Wall time live: each read of the engine's status is 5 ms later than the one before.
  let now = D(4, 10);
  const src: ReportSource = {
    journal,
    engine: { status: () => ({ now: (now += 5), equity: 10_250, unrealizedPnl: 50, pausedSymbols: {} }) as unknown as EngineStatus },
    timezone: 'UTC',
    charts: true,
    wallNow: () => now,
  };

  it('/daily, /weekly, /monthly: the running day/week/month has its PnL and equity', async () => {
    for (const unit of ['day', 'week', 'month'] as const) {
      const text = (await buildHistoryReply(src, unit, 2)).text;
      const running = text.split('\n').find((l) => /\*\s/.test(l));
      expect(running, `${unit}: ${text}`).toContain(signedMoney(250));
      expect(running).toContain(money(10_250));
    }
  });

  it('/chart equity and pnl end at the live equity', async () => {
    expect((await renderChart(src, 'equity', 7)).summary).toContain(`→ ${money(10_250)}`);
    expect((await renderChart(src, 'pnl', 7)).summary).toContain(`Total ${signedMoney(250)}`);
  });
});
