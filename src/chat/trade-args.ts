// The trade a command names (trade id or symbol), shared by /close, /sl, /tp and /trail.
import type { BookPosition } from '../engine/portfolio.ts';
import { percent } from '../core/format.ts';
import { deskOf } from './desk.ts';
import { findTrade, parseTradeId } from '../engine/trades.ts';
import { parseLevel, type LevelKind } from '../engine/trade-edits.ts';
import { tradeId } from '../engine/trades.ts';
import { defineCommand, usage, type CommandContext, type CommandSpec } from './command.ts';
import { badArgs, marketFormat, resolveSymbol, symbolProblem } from './helpers.ts';
import type { ArgSpec, Reply } from './types.ts';

export const tradeArg = (name = 'trade'): ArgSpec => ({
  name,
  type: 'string',
  description: 'trade id from /positions (e.g. T3) or symbol',
  required: true,
});

/** The open position the command's first argument names, or the refusal to send. */
export function tradeOf(ctx: CommandContext, usageLine: string, name = 'trade'): { pos: BookPosition } | { reply: Reply } {
  const engine = ctx.services.engine;
  const ref = String(ctx.args[name] ?? '');
  const traded = engine.symbolList();
  if (parseTradeId(ref) === null && resolveSymbol(ref, traded) === null) return { reply: symbolProblem(ref, traded, usageLine) };
  const t = findTrade(deskOf(ctx.services).positions(), ref, (s) => resolveSymbol(s, traded));
  return 'error' in t ? { reply: badArgs(t.error, usageLine) } : t;
}

/** /sl and /tp: the same command for either level. */
export function levelCommand(kind: LevelKind): CommandSpec {
  const word = kind === 'stop_loss' ? 'stop-loss' : 'take-profit';
  const example = kind === 'stop_loss' ? '-2%' : '+5%';
  const key = kind === 'stop_loss' ? 'stopLoss' : 'takeProfit';
  const check = (ctx: CommandContext): { pos: BookPosition; price: number } | { reply: Reply } => {
    const t = tradeOf(ctx, usage(spec));
    if ('reply' in t) return t;
    const { price } = marketFormat(ctx.services, t.pos.symbol);
    const last = ctx.services.engine.lastPrice(t.pos.symbol);
    const r = parseLevel(kind, String(ctx.args.level ?? ''), t.pos.side, last, price);
    if (!r.ok) return { reply: badArgs(`${r.error}. Nothing changed.`, usage(spec)) };
    return { pos: t.pos, price: r.value };
  };
  const spec: CommandSpec = defineCommand({
    name: kind === 'stop_loss' ? 'sl' : 'tp',
    description: `Set or move a trade's ${word} (a price, or ${example} from the last price)`,
    minRole: 'trader',
    args: [tradeArg(), { name: 'level', type: 'string', description: `a price, or a distance like ${example}`, required: true }],
    confirm(ctx) {
      const c = check(ctx);
      if ('reply' in c) return null;
      const { price, qty } = marketFormat(ctx.services, c.pos.symbol);
      const cur = c.pos[key];
      const last = ctx.services.engine.lastPrice(c.pos.symbol);
      const away = `${percent(Math.abs(c.price / last - 1))} ${c.price < last ? 'below' : 'above'} the last price ${price(last)}`;
      return {
        question: `${cur !== undefined ? `Move the ${word} of` : `Set a ${word} on`} trade ${tradeId(c.pos)} (${c.pos.side} ${qty(c.pos.qty)} ${c.pos.symbol})${cur !== undefined ? ` from ${price(cur)}` : ''} to ${price(c.price)} (${away})?`,
        // "-2%" means a price now; Confirm sets that price, checked again against the market then.
        pin: { trade: tradeId(c.pos), level: String(c.price) },
      };
    },
    run(ctx) {
      const c = check(ctx);
      if ('reply' in c) return c.reply;
      const engine = ctx.services.engine;
      engine.setProtection(c.pos.symbol, { [key]: c.price });
      const { price } = marketFormat(ctx.services, c.pos.symbol);
      if (kind === 'take_profit' && engine.takeProfitByBot(c.pos.symbol))
        return {
          title: `${tradeId(c.pos)} ${word} ${price(c.price)}`,
          text:
            `The ${word} of trade ${tradeId(c.pos)} (${c.pos.symbol}) is now ${price(c.price)}. ` +
            'On spot the stop-loss order holds the coins at the venue, so the bot watches the take-profit: a candle that reaches it closes the position at market (not while the bot is stopped).',
        };
      const placed = deskOf(ctx.services)
        .orders()
        .filter((o) => o.symbol === c.pos.symbol && o.purpose === kind)
        .at(-1); // the newest: on spot the old one may still be on its way out
      // The order of the swap is protection.ts's: on spot the old order holds the coins the new one sells.
      const swap =
        engine.status().marketType === 'spot'
          ? 'The new order is journaled first, then the old one is cancelled (it holds the coins) and the new one placed.'
          : 'The new order is journaled and placed before the old one is cancelled.';
      return {
        title: `${tradeId(c.pos)} ${word} ${price(c.price)}`,
        text: `The ${word} of trade ${tradeId(c.pos)} (${c.pos.symbol}) is now ${price(c.price)}${placed ? `: order ${placed.clientOrderId} (${placed.status})` : ''}. ${swap}`,
      };
    },
  });
  return spec;
}
