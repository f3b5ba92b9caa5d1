import { defineCommand, usage, type CommandSpec } from '../src/chat/command.ts';
import { signedMoney } from '../src/chat/format.ts';
import { actor, marketFormat, quoteOf, resolveSymbol, symbolProblem } from '../src/chat/helpers.ts';
import type { CommandContext } from '../src/chat/command.ts';

const target = ({ args, services }: CommandContext) => {
  const input = String(args.symbol);
  const symbol = resolveSymbol(input, services.engine.symbolList());
  return { input, symbol, pos: symbol ? services.engine.portfolio.positions.get(symbol) : undefined };
};

const spec: CommandSpec = defineCommand({
  name: 'close',
  description: 'Close one position at market',
  minRole: 'trader',
  args: [{ name: 'symbol', type: 'symbol', description: 'the position to close, e.g. BTC/USDT', required: true }],
  confirm(ctx) {
    const { symbol, pos } = target(ctx);
    if (!symbol || !pos) return null; // run() explains; nothing to confirm
    const ccy = quoteOf(ctx.services);
    const { price, qty } = marketFormat(ctx.services, symbol);
    return `Close the ${pos.side} ${qty(pos.qty)} ${symbol} position at market? Entry ${price(pos.entryPrice)}, mark ${price(pos.markPrice)}, uPnL ${signedMoney(pos.unrealizedPnl, ccy)}.`;
  },
  run(ctx) {
    const { input, symbol, pos } = target(ctx);
    const engine = ctx.services.engine;
    if (!symbol) return symbolProblem(input, engine.symbolList(), usage(spec));
    if (!pos) return { text: `No open ${symbol} position: nothing to close. /positions lists them.` };
    // A pending proposal to exit this position is moot now.
    const by = actor(ctx.user);
    const withdrawn = ctx.services.approvals?.withdraw({ symbol, kind: 'exit' }, `made moot by /close (${by})`, by) ?? 0;
    const order = engine.closePosition(symbol, by);
    if (!order)
      return { text: `Could not close ${symbol}: the risk engine refused the exit (see /risk). Nothing was placed.`, severity: 'warning' };
    if (order.status === 'rejected') {
      return {
        text: `The venue rejected the close order ${order.clientOrderId}: ${order.reason ?? 'no reason given'}. The position is still open.`,
        severity: 'critical',
      };
    }
    const { qty } = marketFormat(ctx.services, symbol);
    return {
      title: `Closing ${symbol}`,
      text: `${order.side.toUpperCase()} ${qty(order.qty ?? pos.qty)} ${symbol} at market: order ${order.clientOrderId} (${order.status}). The fill will be reported; check /positions.${withdrawn ? ` ${withdrawn} pending exit proposal(s) withdrawn.` : ''}`,
    };
  },
});

export default spec;
