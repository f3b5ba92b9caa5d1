import { defineCommand, money, percent, table, marketFormat, parentsTable } from './kit.ts';

export default defineCommand({
  name: 'orders',
  description: 'Working orders',
  minRole: 'viewer',
  run({ services }) {
    const os = services.engine.status().liveOrders;
    const parents = parentsTable(services);
    if (!os.length)
      return parents ? { title: 'Working orders', text: `No working orders.\n\n${parents}`, mono: true } : { text: 'No working orders.' };
    const rows = os.map((o) => {
      const { price, qty } = marketFormat(services, o.symbol);
      return [
        o.clientOrderId,
        o.symbol,
        o.side,
        o.trailPct !== undefined ? 'trailing_stop' : o.type,
        o.qty !== undefined ? qty(o.qty) : `${money(o.quoteQty ?? 0, '')} quote`,
        o.trailPct !== undefined
          ? `trails ${percent(o.trailPct)} (venue)`
          : o.price !== undefined
            ? price(o.price)
            : o.stopPrice !== undefined
              ? `stop ${price(o.stopPrice)}`
              : 'market',
        o.status,
        o.purpose ?? '',
      ];
    });
    return {
      title: 'Working orders',
      text: table(rows, ['id', 'symbol', 'side', 'type', 'qty', 'price', 'status', 'purpose']) + (parents ? `\n\n${parents}` : ''),
      mono: true,
    };
  },
});
