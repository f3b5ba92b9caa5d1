import {
  defineCommand,
  usage,
  type CommandContext,
  type CommandSpec,
  MAX_ARG_NUMBER,
  money,
  percent,
  actor,
  badArgs,
  marketFormat,
  quoteOf,
  symbolArg,
  type Reply,
  type Side,
  type OrderRequest,
  verdictWords,
  ALGOS,
  algoConfirm,
  algoPlan,
  runAlgo,
  isTerminal,
  deskOf,
} from './kit.ts';

type Plan =
  | { ok: false; reply: Reply }
  | {
      ok: true;
      symbol: string;
      req: { symbol: string; side: Side; qty?: number; quoteQty?: number; price?: number };
      /** "0.01 BTC" or "5% of equity (~500.00 USDT)". */
      size: string;
      at: string;
      refPrice: number;
    };

/** Validate the arguments into a manual order request; a reply when they don't make sense. */
function plan(side: Side, spec: () => CommandSpec, { args, services }: CommandContext): Plan {
  const engine = services.engine;
  const named = symbolArg(String(args.symbol), engine.symbolList(), usage(spec()));
  if ('reply' in named) return { ok: false, reply: named.reply };
  const { symbol } = named;
  const { price, qty } = marketFormat(services, symbol);
  const amount = args.amount as { value: number; percent: boolean };
  const limit = args.price as number | undefined;
  if (limit !== undefined && !(limit > 0)) return { ok: false, reply: badArgs('price: must be greater than 0', usage(spec())) };
  const last = engine.lastPrice(symbol);
  const refPrice = limit ?? last;
  if (!(refPrice > 0))
    return {
      ok: false,
      reply: { text: `No price for ${symbol} yet: wait for the first candle, or give a limit price.`, severity: 'warning' },
    };
  const ccy = quoteOf(services.config.market.symbols);
  const base = symbol.split('/')[0] ?? symbol;
  const req: Extract<Plan, { ok: true }>['req'] = { symbol, side };
  let size: string;
  if (amount.percent) {
    const equity = engine.status().equity;
    req.quoteQty = (equity * amount.value) / 100;
    size = `${percent(amount.value / 100, 4)} of equity (~${money(req.quoteQty, ccy)})`;
  } else {
    req.qty = amount.value;
    size = `${qty(amount.value)} ${base}`;
  }
  if (limit !== undefined) req.price = limit;
  const at = limit !== undefined ? `limit ${price(limit)}` : `market (last ${price(last)})`;
  return { ok: true, symbol, req, size, at, refPrice };
}

/**
 * A resting exit takes its part of the position out from under the stop-loss order (on spot it holds
 * those coins): say so, and that the bot itself still closes the position if the stop is reached.
 */
function restingExitNote(
  ctx: CommandContext,
  order: Pick<OrderRequest, 'symbol' | 'reduceOnly' | 'type'>,
  price: (x: number) => string,
): string {
  const pos = deskOf(ctx.services).positions().get(order.symbol);
  if (!order.reduceOnly || order.type === 'market' || pos?.stopLoss === undefined) return '';
  if (ctx.services.engine.status().marketType === 'perp')
    return (
      ` While it rests, the stop-loss ${price(pos.stopLoss)} stays at the venue for the whole position: both are reduce-only, so whichever fills first closes that much and the bot resizes or cancels the other.` +
      (pos.takeProfit !== undefined ? ' The take-profit order is placed again for what this one leaves.' : '')
    );
  return ` While it rests, the stop-loss order covers only the rest of the position (on spot this order holds its coins); if the price reaches the stop-loss ${price(pos.stopLoss)}, the bot cancels this order and closes the position at market. While the bot is not running, this order's part has no stop at the venue.`;
}

/** /buy and /sell: the same command with a side. */
export function tradeCommand(side: Side): CommandSpec {
  const spec: CommandSpec = defineCommand({
    name: side,
    description: `Place a manual ${side} order (through the risk checks)`,
    minRole: 'trader',
    args: [
      { name: 'symbol', type: 'symbol', description: 'e.g. BTC/USDT', required: true },
      { name: 'amount', type: 'amount', description: 'base quantity (0.01) or percent of equity (5%)', required: true },
      { name: 'price', type: 'number', description: 'limit price (default: market)', min: 0, minExclusive: true, max: MAX_ARG_NUMBER },
      { name: 'algo', type: 'enum', choices: ALGOS, description: 'split into child orders (see /orders)' },
      { name: 'over', type: 'string', description: 'TWAP/iceberg duration, e.g. 10m' },
    ],
    confirm(ctx) {
      const p = plan(side, () => spec, ctx);
      if (!p.ok) return null; // run() explains
      const preview = ctx.services.engine.manualOrder(p.req, actor(ctx.user), { dryRun: true }).decision;
      if (preview.action === 'reject') return null; // nothing will be placed: run() reports the verdict
      const algo = algoPlan(ctx, p.req, p.refPrice);
      if (!algo.ok) return null;
      // A split whose slices would be refused is not asked about: run() says why.
      if (algo.plan && ctx.services.algos?.sliceProblem({ ...algo.plan, symbol: p.symbol, side, by: actor(ctx.user) }, algo.plan.qty))
        return null;
      if (algo.plan)
        return `${algoConfirm(side, p.symbol, algo.plan, ctx.services)}\nRisk check now, of the whole: ${verdictWords(preview)}`;
      // A resting exit: the trader learns what it does to the stop before saying yes, not after.
      const { price } = marketFormat(ctx.services, p.symbol);
      const note = preview.request ? restingExitNote(ctx, preview.request, price) : '';
      return `${side.toUpperCase()} ${p.symbol} ${p.size} at ${p.at}?\nRisk check now: ${verdictWords(preview)}${note ? `\n${note.trim()}` : ''}`;
    },
    run(ctx) {
      const p = plan(side, () => spec, ctx);
      if (!p.ok) return p.reply;
      const algo = algoPlan(ctx, p.req, p.refPrice);
      if (!algo.ok) return badArgs(algo.why, usage(spec));
      if (algo.plan) return runAlgo(ctx, side, p.symbol, algo.plan);
      const { decision, order } = ctx.services.engine.manualOrder(p.req, actor(ctx.user));
      const head = `${side.toUpperCase()} ${p.symbol} ${p.size} at ${p.at}`;
      if (decision.action === 'reject' || !order) {
        return {
          title: 'Not placed',
          text: `${head}\nRisk: ${verdictWords(decision)}\nNothing was placed.`,
          severity: 'warning',
          audit: { outcome: 'refused', reason: `${decision.rule}: ${decision.reason}` },
        };
      }
      const { price, qty } = marketFormat(ctx.services, p.symbol);
      const final =
        order.qty !== undefined
          ? `${qty(order.qty)} ${p.symbol.split('/')[0]}`
          : `${money(order.quoteQty ?? 0, quoteOf(ctx.services.config.market.symbols))} worth`;
      if (order.status === 'rejected') {
        const why = order.reason ?? 'no reason given';
        return {
          title: 'Rejected by the venue',
          text: `${head}\nRisk: ${verdictWords(decision)}\nOrder ${order.clientOrderId} was rejected by the venue: ${why}.`,
          severity: 'warning',
          audit: { outcome: 'refused', reason: `venue: ${why}` },
        };
      }
      return {
        title: `Order ${order.clientOrderId}`,
        text:
          `${head}\nRisk: ${verdictWords(decision)}\n` +
          `Order ${order.clientOrderId}: ${order.side} ${final} ${order.type}${order.price !== undefined ? ` @ ${price(order.price)}` : ''} — ${order.status}.` +
          `${order.stopLoss !== undefined ? ` Stop-loss ${price(order.stopLoss)}${order.status === 'filled' ? ' set for the position' : ' once filled'}.` : ''}` +
          `${isTerminal(order.status) ? '' : restingExitNote(ctx, order, price)}\n` +
          (isTerminal(order.status)
            ? '/positions shows what is open now.'
            : `Fills will be reported. /cancel ${order.clientOrderId} cancels it while it is working.`),
      };
    },
  });
  return spec;
}

export default tradeCommand('buy');
