// After a journal fault, /positions and /status say the stop next to a position no longer works (paper).
import { describe, expect, it } from 'vitest';
import { chatUser, startBot } from '../helpers/harness.ts';

describe('stop price after a journal fault', () => {
  it('/positions and /status add the hint to the stop once the journal failed, not before', async () => {
    const h = await startBot({ candles: 3000, config: { risk: { maxConsecutiveLosses: 0, minTradeIntervalSec: 0, stopLossPct: 0.02 } } });
    const ask = async (t: string) => (await h.bot.dispatcher.handleText(chatUser('admin'), t))?.text ?? '';
    try {
      if (!h.bot.engine.portfolio.positions.size) {
        h.bot.engine.manualOrder({ symbol: 'BTC/USDT', side: 'buy', qty: 0.01 }, 'test');
        for (let i = 0; i < 50 && !h.bot.engine.portfolio.positions.size; i++) await new Promise((r) => setTimeout(r, 100));
      }
      expect(h.bot.engine.portfolio.positions.size).toBe(1);
      expect(await ask('/status')).toMatch(/SL [\d,.]+/);
      expect(await ask('/status')).not.toMatch(/journal failed/);
      (h.bot.journal as unknown as { writeFailed(e: Error): void }).writeFailed(new Error('database or disk is full'));
      expect(h.bot.journalHealth.fault).not.toBeNull();
      expect(await ask('/status')).toMatch(/SL [\d,.]+ \(NOT working: journal failed, paper stopped\)/);
      expect(await ask('/positions')).toMatch(/[\d,.]+ \(NOT working: journal failed, paper stopped\)/);
    } finally {
      await h.stop();
    }
  }, 60_000);
});
