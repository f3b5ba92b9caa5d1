import { defineCommand, signedMoney, table, utc, marketFormat, quoteOf, engineTimeNote, tradeId, stopFaultHint } from './kit.ts';

export default defineCommand({
  name: 'positions',
  description: 'Open positions with unrealized PnL',
  minRole: 'viewer',
  run({ services }) {
    const st = services.engine.status();
    const ps = st.positions;
    if (!ps.length) return { text: 'No open positions.' };
    const rows = ps.map((p) => {
      const { price, qty } = marketFormat(services, p.symbol);
      return [
        tradeId(p),
        p.symbol,
        p.side,
        qty(p.qty),
        price(p.entryPrice),
        price(p.markPrice),
        signedMoney(p.unrealizedPnl, quoteOf(services.config.market.symbols)),
        p.stopLoss
          ? `${price(p.stopLoss)}${st.unprotected.some((g) => g.symbol === p.symbol) ? ' NOT PLACED' : ''}${stopFaultHint(services)}`
          : '—',
        utc(p.openedAt),
      ];
    });
    return {
      title: 'Open positions',
      text: table(rows, [
        'id',
        'symbol',
        'side',
        'qty',
        'entry',
        'mark',
        'uPnL',
        'stop',
        `opened${engineTimeNote(services.engine.clockKind)}`,
      ]),
      mono: true,
    };
  },
});
