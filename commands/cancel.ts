import {
  defineCommand,
  deskOf,
  type CommandContext,
  money,
  marketFormat,
  type Services,
  type Order,
  cancelParent,
  childCancelNote,
  actor,
  traderCancel,
} from './kit.ts';

/** The working order the user named (client order ids are matched case-insensitively). */
function find({ args, services }: CommandContext): Order | undefined {
  const id = String(args.order).toLowerCase();
  for (const o of deskOf(services).orders()) if (o.clientOrderId.toLowerCase() === id) return o;
  return undefined;
}

function describe(o: Order, services: Services): string {
  const { price, qty } = marketFormat(services, o.symbol);
  return (
    `${o.clientOrderId}: ${o.side} ${o.qty !== undefined ? qty(o.qty) : `${money(o.quoteQty ?? 0, '')} quote`} ${o.symbol} ${o.type}` +
    `${o.price !== undefined ? ` @ ${price(o.price)}` : ''}${o.stopPrice !== undefined ? ` stop ${price(o.stopPrice)}` : ''}${o.purpose ? ` (${o.purpose})` : ''}`
  );
}

export default defineCommand({
  name: 'cancel',
  description: 'Cancel one working order, or a TWAP/iceberg parent, by its id (see /orders)',
  minRole: 'trader',
  args: [{ name: 'order', type: 'string', description: 'client order id, e.g. sk-00000a', required: true }],
  // Cancelling reduces risk, so no prompt, except for a stop-loss: that removes a position's protection.
  confirm(ctx) {
    const o = find(ctx);
    return o?.purpose === 'stop_loss'
      ? `Cancel the stop-loss ${describe(o, ctx.services)}? The ${o.symbol} position will have no stop.`
      : null;
  },
  run(ctx) {
    const o = find(ctx);
    const asked = String(ctx.args.order);
    const parent = o ? null : cancelParent(ctx, asked);
    if (parent) return parent;
    if (!o) {
      const past = ctx.services.journal.getOrder(asked);
      if (past)
        return {
          text: `Order ${past.clientOrderId} is already ${past.status}: nothing to cancel.`,
          audit: { outcome: 'invalid', reason: `already ${past.status}` },
        };
      return {
        text: `No working order "${asked}". /orders lists the working ones.`,
        severity: 'warning',
        audit: { outcome: 'invalid', reason: 'no such working order' },
      };
    }
    if (o.status === 'new' && !ctx.services.engine.isHeld(o))
      return { text: `Order ${o.clientOrderId} is still being sent to the venue; try again in a moment.`, severity: 'warning' };
    const what = describe(o, ctx.services);
    const child = childCancelNote(ctx.services, o.clientOrderId);
    ctx.services.engine.cancel(o, traderCancel(actor(ctx.user)));
    const now = deskOf(ctx.services).order(o.clientOrderId);
    if (!now)
      return {
        title: 'Cancelled',
        text: `${what}\nNow ${o.status}${o.filledQty > 0 ? ` (${marketFormat(ctx.services, o.symbol).qty(o.filledQty)} had filled)` : ''}.${child}`,
      };
    return { title: 'Cancel requested', text: `${what}\nThe venue will confirm; check /orders.${child}` };
  },
});
