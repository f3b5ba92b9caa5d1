// A replay held by a pending proposal, restarted: the candles it goes through again only warm up (no
// hold there), and it waits again at the candle the proposal was made on, where its price and the
// trade's mark are. (Found at the console: after a restart the replay held on its very first candle,
// and /positions marked an open trade at a price from before it was opened.)
import { describe, expect, it } from 'vitest';
import type { Proposal } from '../../src/engine/ports.ts';
import { startBot, tempDir } from '../helpers/harness.ts';
import { until } from '../helpers/venue-time.ts';

const SYM = 'BTC/USDT';

describe('a held replay, restarted', () => {
  it('holds again at the proposal, not at the first candle', async () => {
    const dir = tempDir();
    const config = {
      approvals: { mode: 'always' as const, holdReplay: true, timeoutSec: 3600 },
      risk: { sizing: 'fixed' as const, fixedQuote: 100, stopLossPct: null, maxConsecutiveLosses: 0 },
    };
    const first = await startBot({ dir, candles: 3000, waitForReplay: false, config });
    let heldAt: number;
    let proposal: Proposal;
    try {
      await until(() => first.bot.journal.pendingProposals().length > 0, 'a proposal', 20_000);
      proposal = first.bot.journal.pendingProposals()[0]!.payload as unknown as Proposal;
      heldAt = first.bot.engine.status().now;
      await new Promise((r) => setTimeout(r, 100));
      expect(first.bot.engine.status().now).toBe(heldAt); // held
    } finally {
      await first.stop();
    }
    const again = await startBot({ dir, replayFile: first.replay, waitForReplay: false, config });
    try {
      expect(again.bot.approvals.hasPending).toBe(true);
      const notice = again.bot.journal.recentAlerts(20).find((a) => a.title.startsWith('Skipper started'))!;
      expect(notice.message).toMatch(/ 1 trade proposal waiting for an answer: \/approvals\.$/);
      await until(() => again.bot.engine.status().now >= heldAt, 'the warm-up to reach the proposal', 20_000);
      await new Promise((r) => setTimeout(r, 100));
      const st = again.bot.engine.status();
      expect(st.now).toBe(heldAt); // held there again, not past it
      expect(st.lastCandle[SYM]!.close).toBe(proposal.signal.price);
    } finally {
      again.bot.approvals.withdraw({}, 'test over', 'test');
      await again.stop();
    }
  });
});
