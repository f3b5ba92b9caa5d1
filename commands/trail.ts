import {
  defineCommand,
  usage,
  type CommandContext,
  type CommandSpec,
  percent,
  badArgs,
  marketFormat,
  tradeArg,
  tradeOf,
  parseTrail,
  nativeTrailRefusal,
  deskOf,
  tradeId,
} from './kit.ts';

const check = (ctx: CommandContext) => {
  const t = tradeOf(ctx, usage(spec));
  if ('reply' in t) return t;
  const r = parseTrail(String(ctx.args.distance ?? ''));
  if (!r.ok) return { reply: badArgs(`${r.error}. Nothing changed.`, usage(spec)) };
  const venue = r.value === null ? null : nativeTrailRefusal(deskOf(ctx.services).venue(), r.value);
  if (venue !== null) return { reply: badArgs(`${venue}. Nothing changed.`, usage(spec)) };
  return { pos: t.pos, pct: r.value };
};

const spec: CommandSpec = defineCommand({
  name: 'trail',
  description: "Trail a trade's stop at a distance from its best price (1.5%), or stop trailing (off)",
  minRole: 'trader',
  args: [tradeArg(), { name: 'distance', type: 'string', description: 'a distance like 1.5%, or off', required: true }],
  confirm(ctx) {
    const c = check(ctx);
    if ('reply' in c) return null;
    const { qty } = marketFormat(ctx.services, c.pos.symbol);
    const what = `trade ${tradeId(c.pos)} (${c.pos.side} ${qty(c.pos.qty)} ${c.pos.symbol})`;
    return {
      question:
        c.pct === null
          ? `Stop trailing the stop of ${what}? The stop stays where it is.`
          : `Trail the stop of ${what} ${percent(c.pct)} behind its best price?`,
      pin: { trade: tradeId(c.pos) }, // this trade, not one opened on the symbol since
    };
  },
  run(ctx) {
    const c = check(ctx);
    if ('reply' in c) return c.reply;
    const desk = deskOf(ctx.services);
    const now = desk.setTradeSettings(c.pos.id, { trailingStopPct: c.pct });
    const native = desk.venue().nativeTrailing?.label;
    return {
      text:
        c.pct === null
          ? `Trade ${tradeId(c.pos)} no longer trails; its stop stays where it is${now ? ' (a fixed stop replaces the venue’s trailing stop)' : ''}.`
          : now
            ? `Trade ${tradeId(c.pos)} trails its stop ${percent(c.pct)} behind its best price: ${native ?? 'the venue'} trail it natively from now on (it replaces the stop).`
            : `Trade ${tradeId(c.pos)} trails its stop ${percent(c.pct)} behind its best price from the next candle on (the stop only ever moves in the trade's favour${native !== undefined ? `; once it first moves, ${native} trail it natively` : ''}).`,
    };
  },
});

export default spec;
