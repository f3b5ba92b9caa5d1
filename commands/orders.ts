import { defineCommand } from '../src/chat/command.ts';
import { money, table } from '../src/chat/format.ts';
import { marketFormat } from '../src/chat/helpers.ts';

export default defineCommand({
  name: 'orders',
  description: 'Working orders',
  minRole: 'viewer',
  run({ services }) {
    const os = services.engine.status().liveOrders;
    if (!os.length) return { text: 'No working orders.' };
    const rows = os.map((o) => {
      const { price, qty } = marketFormat(services, o.symbol);
      return [
        o.clientOrderId,
        o.symbol,
        o.side,
        o.type,
        o.qty !== undefined ? qty(o.qty) : `${money(o.quoteQty ?? 0, '')} quote`,
        o.price !== undefined ? price(o.price) : o.stopPrice !== undefined ? `stop ${price(o.stopPrice)}` : 'market',
        o.status,
        o.purpose ?? '',
      ];
    });
    return {
      title: 'Working orders',
      text: table(rows, ['id', 'symbol', 'side', 'type', 'qty', 'price', 'status', 'purpose']),
      mono: true,
    };
  },
});
