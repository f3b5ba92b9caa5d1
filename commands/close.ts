import {
  defineCommand,
  usage,
  type CommandSpec,
  signedMoney,
  actor,
  badArgs,
  marketFormat,
  quoteOf,
  tradeArg,
  tradeOf,
  type CommandContext,
  floorToStep,
  tradeId,
  type Order,
  counted,
} from './kit.ts';

/** The quantity to close: all, a percentage, or a base amount; an error when that leaves dust. */
function partOf(ctx: CommandContext, symbol: string, posQty: number): { qty?: number } | { error: string } {
  const a = ctx.args.amount as { value: number; percent: boolean } | undefined;
  if (a === undefined || (a.percent && a.value === 100)) return {};
  const m = ctx.services.engine.marketInfo(symbol);
  const step = m?.qtyStep ?? 0;
  const raw = a.percent ? (posQty * a.value) / 100 : a.value;
  const qty = step > 0 ? floorToStep(raw, step) : raw;
  const { qty: q } = marketFormat(ctx.services, symbol);
  if (qty >= posQty) return {};
  const min = m?.minQty ?? 0;
  if (!(qty > 0) || qty < min) return { error: `${q(raw)} is below the smallest order (${q(min)}): nothing to close.` };
  if (posQty - qty < min)
    return { error: `closing ${q(qty)} would leave ${q(posQty - qty)}, below the smallest order (${q(min)}): close it all.` };
  return { qty };
}

/** "Your working exit sk-000003" / "Your working exits sk-000003, sk-000004": what a full close cancels. */
const yourExits = (orders: readonly Order[]): string =>
  `Your working exit${orders.length > 1 ? 's' : ''} ${orders.map((o) => o.clientOrderId).join(', ')}`;

const spec: CommandSpec = defineCommand({
  name: 'close',
  description: 'Close a trade (all, or part: 25% or a quantity) at market',
  minRole: 'trader',
  args: [tradeArg('symbol'), { name: 'amount', type: 'amount', description: 'part to close: 25% or 0.01 (default: all)' }],
  confirm(ctx) {
    const t = tradeOf(ctx, usage(spec), 'symbol');
    if ('reply' in t) return null; // run() explains; nothing to confirm
    const pos = t.pos;
    const part = partOf(ctx, pos.symbol, pos.qty);
    if ('error' in part) return null;
    const ccy = quoteOf(ctx.services.config.market.symbols);
    const { price, qty } = marketFormat(ctx.services, pos.symbol);
    const what = part.qty !== undefined ? `${qty(part.qty)} of the ${pos.side} ${qty(pos.qty)}` : `the ${pos.side} ${qty(pos.qty)}`;
    const resting = part.qty === undefined ? ctx.services.engine.restingExits(pos.symbol, pos.side === 'long' ? 'sell' : 'buy') : [];
    const replaces = resting.length ? ` ${yourExits(resting)} would be cancelled.` : '';
    return {
      question: `Close ${what} ${pos.symbol} position at market? Entry ${price(pos.entryPrice)}, mark ${price(pos.markPrice)}, uPnL ${signedMoney(pos.unrealizedPnl, ccy)}. Trade ${tradeId(pos)}.${replaces}`,
      // Confirm closes this trade and the quantity shown, not a trade opened on the symbol since.
      pin: { symbol: tradeId(pos), ...(part.qty !== undefined ? { amount: { value: part.qty, percent: false } } : {}) },
    };
  },
  run(ctx) {
    const t = tradeOf(ctx, usage(spec), 'symbol');
    if ('reply' in t) return t.reply;
    const pos = t.pos;
    const symbol = pos.symbol;
    const held = pos.qty; // the close may fill at once (a finished replay) and shrink the live position
    const engine = ctx.services.engine;
    const part = partOf(ctx, symbol, pos.qty);
    if ('error' in part) return badArgs(part.error, usage(spec));
    // A pending proposal to exit this position is moot now (a partial close leaves it standing).
    const by = actor(ctx.user);
    const withdrawn =
      part.qty === undefined ? (ctx.services.approvals?.withdraw({ symbol, kind: 'exit' }, `made moot by /close (${by})`, by) ?? 0) : 0;
    // All of it: the trader's resting exits (a limit above the market) are cancelled and replaced by the close.
    const { order, replaced: resting } =
      part.qty === undefined
        ? engine.closeAll(symbol, by)
        : { order: engine.closePosition(symbol, by, 'manual', undefined, part.qty), replaced: [] };
    if (!order)
      return { text: `Could not close ${symbol}: the risk engine refused the exit (see /risk). Nothing was placed.`, severity: 'warning' };
    if (order.status === 'rejected') {
      return {
        text: `The venue rejected the close order ${order.clientOrderId}: ${order.reason ?? 'no reason given'}. The position is still open.`,
        severity: 'critical',
      };
    }
    const { qty } = marketFormat(ctx.services, symbol);
    const rest =
      part.qty !== undefined
        ? ` ${qty(held - part.qty)} stays open; its stop and take-profit are resized to it.`
        : resting.length > 0
          ? ` ${yourExits(resting)} ${resting.length > 1 ? 'are' : 'is'} cancelled: this close replaces ${resting.length > 1 ? 'them' : 'it'}.`
          : '';
    return {
      title: `Closing ${symbol} ${tradeId(pos)}`,
      text: `${order.side.toUpperCase()} ${qty(order.qty ?? held)} ${symbol} at market: order ${order.clientOrderId} (${order.status}).${rest} The fill will be reported; check /positions.${withdrawn ? ` ${counted(withdrawn, 'pending exit proposal')} withdrawn.` : ''}`,
    };
  },
});

export default spec;
