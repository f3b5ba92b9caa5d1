// The chats hear that the bot started (as Freqtrade's Telegram does), and a breaker that survived the
// restart makes it a warning that says entries are blocked.
import { describe, expect, it } from 'vitest';
import { startBot, tempDir } from '../helpers/harness.ts';
import { VERSION } from '../../src/core/version.ts';

const startNotice = (h: Awaited<ReturnType<typeof startBot>>) =>
  h.bot.journal
    .recentAlerts(50)
    .filter((a) => a.type === 'engine' && a.title.startsWith('Skipper started'))
    .at(0);

describe('start notice', () => {
  it('says what runs and the account; after a restart with the breaker tripped, that entries are blocked', async () => {
    const dir = tempDir();
    const config = { strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } } };
    const first = await startBot({ dir, candles: 300, config });
    try {
      const a = startNotice(first)!;
      expect(a).toMatchObject({ severity: 'info', title: 'Skipper started', data: { version: VERSION } });
      expect(a.message).toMatch(
        /^paper on paper; BTC\/USDT 1m; strategy sma-cross\. Equity 10,000\.00 USDT, 0 open positions\. Reconciliation: /,
      );
      first.bot.engine.risk.tripBreaker('5 losing trades in a row (limit 5)', first.bot.engine.status().now);
    } finally {
      await first.stop();
    }
    const again = await startBot({ dir, candles: 300, config, replayFile: first.replay });
    try {
      const a = startNotice(again)!;
      expect(a).toMatchObject({ severity: 'warning', title: 'Skipper started: entries blocked' });
      expect(a.message).toMatch(/Entries blocked: .*circuit breaker.*5 losing trades in a row/);
    } finally {
      await again.stop();
    }
  });

  it('names a position restarted without all its promised protection, and why', async () => {
    const dir = tempDir();
    const config = { strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } }, risk: { minTradeIntervalSec: 0 } };
    const first = await startBot({ dir, candles: 300, config });
    try {
      first.bot.engine.manualOrder({ symbol: 'BTC/USDT', side: 'buy', qty: 0.01 }, 'ada');
      const px = first.bot.engine.lastPrice('BTC/USDT');
      first.bot.engine.manualOrder({ symbol: 'BTC/USDT', side: 'sell', qty: 0.01, price: Math.round(px * 1.05) }, 'ada');
    } finally {
      await first.stop();
    }
    const again = await startBot({ dir, candles: 300, config, replayFile: first.replay });
    try {
      expect(startNotice(again)!.message).toContain(
        'Not yet covered as promised: BTC/USDT (stop-loss lifted while an exit order works); see /status.',
      );
    } finally {
      await again.stop();
    }
  });
});
