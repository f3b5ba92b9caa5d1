// /performance: the closed trades of a window by exit reason and by symbol. Its totals are /pnl's;
// /trades names each trade's exit; /stats (Freqtrade's name) points to it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatUser, startBot, type Harness } from '../helpers/harness.ts';
import { EXIT_REASONS } from '../../src/core/types.ts';

const viewer = chatUser('viewer');

describe('/performance', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startBot({
      candles: 3000,
      config: {
        strategy: { name: 'sma-cross', params: { fast: 5, slow: 20 } },
        risk: { stopLossPct: 0.004, takeProfitPct: 0.006, maxHoldMinutes: 90, maxConsecutiveLosses: 0, minTradeIntervalSec: 0 },
      },
    });
  });
  afterAll(() => h.stop());
  const send = async (text: string) => (await h.bot.dispatcher.handleText(viewer, text))!;

  it('groups every closed trade by exit and by symbol; the totals are /pnl all', async () => {
    const r = await send('/performance');
    expect(r.title).toBe('Performance — all time');
    const lines = r.text.split('\n');
    const labels = Object.values(EXIT_REASONS) as string[];
    const exitRows = lines.slice(2, lines.indexOf(''));
    expect(exitRows.length).toBeGreaterThan(1); // signals and stops at least
    let trades = 0;
    for (const row of exitRows) {
      const label = labels.find((l) => row.startsWith(`${l} `));
      expect(label, row).toBeDefined();
      trades += Number(row.slice(label!.length).trim().split(/\s+/)[0]);
    }
    const pnl = await send('/pnl all');
    const closed = Number(/Closed trades:\s+(\d+)/.exec(pnl.text)?.[1]);
    expect(trades).toBe(closed);
    expect(r.text).toMatch(new RegExp(`^BTC/USDT\\s+${closed}\\s`, 'm'));
    const net = /Realized \(net\):\s+(\S+) USDT/.exec(pnl.text)![1];
    expect(r.text).toContain(`net ${net} USDT`);
  });

  it('/trades names each exit; a bad period gets the choices; /stats points here', async () => {
    const t = await send('/trades 5');
    expect(t.text.split('\n')[0]).toMatch(/\bexit\s+by\s+net PnL\b/);
    const rows = t.text.split('\n').slice(2, 7);
    for (const row of rows)
      expect(
        Object.values(EXIT_REASONS).some((l) => row.includes(` ${l} `)),
        row,
      ).toBe(true);
    const bad = await send('/performance yesterday');
    expect(bad.text).toMatch(/expected one of day, week, month, all/);
    const stats = await send('/stats');
    expect(stats.text).toMatch(/Did you mean \/performance\?/);
  });
});
