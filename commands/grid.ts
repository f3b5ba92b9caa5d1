import {
  actor,
  badArgs,
  defineCommand,
  price,
  qty,
  signedMoney,
  splitSymbol,
  usage,
  type CommandSpec,
  type GridBook,
  type GridView,
  type Services,
  counted,
  AWAITING_APPROVAL,
} from './kit.ts';

const ACTIONS = ['stop', 'start'] as const;
type Action = (typeof ACTIONS)[number];

function render(v: GridView): string {
  const m = v.market;
  const px = (x: number) => price(x, m?.priceStep);
  const size = (x: number) => qty(x, m?.qtyStep);
  const p = v.params;
  const per = p.qtyPerLevel !== undefined ? `${size(p.qtyPerLevel)} per level` : `${p.quotePerLevel} ${splitSymbol(v.symbol)[1]} per level`;
  const stops = [p.stopBelow !== undefined ? `below ${px(p.stopBelow)}` : '', p.stopAbove !== undefined ? `above ${px(p.stopAbove)}` : '']
    .filter(Boolean)
    .join(', ');
  const lines = [
    `${v.symbol} grid ${v.id}: ${v.status.toUpperCase()}${v.reason ? ` (${v.reason})` : ''}`,
    `${v.levels.length} ${p.spacing} levels ${px(p.lower)}–${px(p.upper)}, ${per}; stop-out ${stops || 'off'}`,
  ];
  for (const l of [...v.levels].reverse()) {
    const o = l.order;
    const what = o
      ? `${o.side} ${size(o.qty)}${o.filledQty > 0 ? ` (${size(o.filledQty)} filled)` : ''} ${o.status} ${o.clientOrderId}`
      : '—';
    lines.push(`  ${px(l.price)}  ${what}`);
  }
  const quote = splitSymbol(v.symbol)[1];
  lines.push(
    `Held by the grid: ${size(v.held)}; fills ${v.fills}, round trips ${v.roundTrips}; realized grid profit ${signedMoney(v.profit, quote)} (net of fees)`,
  );
  for (const r of v.refusals) lines.push(`Refused: ${r}`);
  return lines.join('\n');
}

/** The grid a command is about: the named symbol's, else the only one. */
function pick(services: Services, symbol: string | undefined): GridBook | string {
  const books = services.grid?.books;
  if (!books || books.size === 0) return `No grid: the strategy is ${services.config.strategy.name} (set strategy.name: grid).`;
  if (symbol !== undefined) return books.get(symbol.toUpperCase()) ?? `No grid on ${symbol}: grids run on ${[...books.keys()].join(', ')}.`;
  if (books.size > 1) return `Name the symbol: grids run on ${[...books.keys()].join(', ')}.`;
  return [...books.values()][0]!;
}

const spec: CommandSpec = defineCommand({
  name: 'grid',
  description: 'Grid strategy: levels, open orders, fills, realized profit; stop / start (admin)',
  minRole: 'viewer',
  args: [
    {
      name: 'action',
      type: 'enum',
      choices: ACTIONS,
      description: 'stop: cancel the grid orders (the position stays); start: run a stopped grid again',
    },
    { name: 'symbol', type: 'string', description: 'which grid (when several run)' },
  ],
  roleFor: (args) => (args.action !== undefined ? 'admin' : 'viewer'),
  confirm({ args, services }) {
    const action = args.action as Action | undefined;
    if (action === undefined) return null;
    const b = pick(services, args.symbol as string | undefined);
    if (typeof b === 'string') return null; // run() says why
    const v = b.view();
    if (!v) return null;
    if (action === 'stop') {
      if (v.status !== 'active') return null;
      const n = v.levels.filter((l) => l.order !== null).length;
      return `Stop the ${v.symbol} grid ${v.id}: cancel its ${counted(n, 'order')}? The position it holds stays open (/close it if you want out).`;
    }
    if (v.status === 'active') return null;
    const plan = `${v.levels.length} levels ${price(v.params.lower, v.market?.priceStep)}–${price(v.params.upper, v.market?.priceStep)}`;
    return v.reason === AWAITING_APPROVAL
      ? `Approve the ${v.symbol} grid (${plan}) and place its orders? (Its level orders are not asked for one by one.)`
      : `Start the ${v.symbol} grid again (${plan})?`;
  },
  run({ args, user, services }) {
    const action = args.action as Action | undefined;
    const b = pick(services, args.symbol as string | undefined);
    if (typeof b === 'string') return action === undefined && args.symbol === undefined ? { text: b } : badArgs(b, usage(spec));
    if (action === 'stop') {
      const r = b.stop(actor(user));
      if ('error' in r) return { text: `Nothing to stop: ${r.error}.` };
      return {
        text: `${b.symbol} grid stopped: ${counted(r.cancelled, 'order')} cancelled. The position stays; /grid start runs it again.`,
      };
    }
    if (action === 'start') {
      const r = b.restart(actor(user));
      if ('error' in r) return { text: `Nothing to start: ${r.error}.` };
      return { text: `${b.symbol} grid ${r.id} started: its orders go out with the next candle.` };
    }
    const v = b.view();
    return { title: 'Grid', text: v ? render(v) : 'The grid is not running yet.' };
  },
});

export default spec;
