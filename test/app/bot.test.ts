import { describe, expect, it } from 'vitest';
import { startBot, chatUser } from '../helpers/harness.ts';

describe('bot (paper replay)', () => {
  it('paper-trades a replay and answers /status', async () => {
    const h = await startBot({ config: { risk: { maxConsecutiveLosses: 0 } } });
    try {
      expect(h.bot.journal.count('fills')).toBeGreaterThan(0);
      const r = await h.bot.dispatcher.handleText(chatUser('viewer'), '/status');
      expect(r?.text).toContain('paper trading (simulated money)');
      expect(r?.text).toMatch(/Feed BTC\/USDT: done/);
    } finally {
      await h.stop();
    }
  });
});

describe('bot after a replay has ended', () => {
  it('market orders settle at the last close, so /buy and /flatten still work', async () => {
    const h = await startBot({ config: { risk: { maxConsecutiveLosses: 0, minTradeIntervalSec: 0 } } });
    try {
      const admin = chatUser('admin');
      const confirmAndRun = async (cmd: string) => {
        const ask = await h.bot.dispatcher.handleText(admin, cmd);
        const yes = ask!.buttons![0]![0]!.data;
        return h.bot.dispatcher.handleButton(admin, yes);
      };
      if (h.bot.engine.portfolio.positions.size === 0) await confirmAndRun('/buy BTC/USDT 0.01');
      expect(h.bot.engine.portfolio.positions.size).toBe(1);
      await confirmAndRun('/flatten');
      expect(h.bot.engine.portfolio.positions.size).toBe(0);
      expect([...h.bot.engine.liveOrders.values()].filter((o) => o.purpose !== 'stop_loss')).toEqual([]);
      const usdt = (await h.bot.exchange.fetchBalances()).find((b) => b.asset === 'USDT')!;
      expect(h.bot.engine.portfolio.cash).toBeCloseTo(usdt.free + usdt.locked, 6);
    } finally {
      await h.stop();
    }
  });
});
