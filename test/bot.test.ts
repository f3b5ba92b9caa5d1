import { describe, expect, it } from 'vitest';
import { startBot, chatUser } from './helpers/harness.ts';

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
