import { defineCommand } from '../src/chat/command.ts';
import { price, qty, signedMoney, table, utc } from '../src/chat/format.ts';

export default defineCommand({
  name: 'positions',
  description: 'Open positions with unrealized PnL',
  minRole: 'viewer',
  run({ services }) {
    const ps = services.engine.status().positions;
    if (!ps.length) return { text: 'No open positions.' };
    const rows = ps.map((p) => [
      p.symbol,
      p.side,
      qty(p.qty),
      price(p.entryPrice),
      price(p.markPrice),
      signedMoney(p.unrealizedPnl),
      p.stopLoss ? price(p.stopLoss) : '—',
      utc(p.openedAt),
    ]);
    return { title: 'Open positions', text: table(rows, ['symbol', 'side', 'qty', 'entry', 'mark', 'uPnL', 'stop', 'opened']), mono: true };
  },
});
