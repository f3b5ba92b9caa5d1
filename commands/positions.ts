import { defineCommand } from '../src/chat/command.ts';
import { signedMoney, table, utc } from '../src/chat/format.ts';
import { marketFormat, quoteOf } from '../src/chat/helpers.ts';

export default defineCommand({
  name: 'positions',
  description: 'Open positions with unrealized PnL',
  minRole: 'viewer',
  run({ services }) {
    const ps = services.engine.status().positions;
    if (!ps.length) return { text: 'No open positions.' };
    const rows = ps.map((p) => {
      const { price, qty } = marketFormat(services, p.symbol);
      return [
        p.symbol,
        p.side,
        qty(p.qty),
        price(p.entryPrice),
        price(p.markPrice),
        signedMoney(p.unrealizedPnl, quoteOf(services)),
        p.stopLoss ? price(p.stopLoss) : '—',
        utc(p.openedAt),
      ];
    });
    return { title: 'Open positions', text: table(rows, ['symbol', 'side', 'qty', 'entry', 'mark', 'uPnL', 'stop', 'opened']), mono: true };
  },
});
