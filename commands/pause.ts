import { actor, defineCommand, deskOf, counted, marketFormat, symbolArg, usage, type CommandSpec, type Services } from './kit.ts';

const spec: CommandSpec = defineCommand({
  name: 'pause',
  description: 'Stop opening new positions, on all symbols or one (exits and stops keep working)',
  minRole: 'trader',
  args: [{ name: 'symbol', type: 'symbol', description: 'only this symbol, e.g. ETH/USDT (default: all)' }],
  run({ user, services, args }) {
    const by = actor(user);
    if (args.symbol !== undefined) {
      const named = symbolArg(String(args.symbol), services.engine.symbolList(), usage(spec));
      if ('reply' in named) return named.reply;
      const { symbol } = named;
      if (!services.engine.pauseSymbol(symbol, by)) return { text: `${symbol} is already paused. /resume ${symbol} to trade it again.` };
      const withdrawn = services.approvals?.withdraw({ kind: 'entry', symbol }, `made moot by /pause ${symbol} (${by})`, by) ?? 0;
      const w = withdrawn ? ` ${counted(withdrawn, 'pending entry proposal')} withdrawn.` : '';
      const others = services.engine.symbolList().length > 1 ? ', other symbols trade on' : '';
      const held = deskOf(services).positions().has(symbol) ? '; its open position keeps its exits and stops' : '';
      return {
        text: `${symbol} paused by ${by}: no new entries on it${held}${others}.${w}${stillWorking(services, symbol)} /resume ${symbol} to trade it again.`,
      };
    }
    if (deskOf(services).risk().state.paused) return { text: 'Already paused. /resume to trade again.' };
    services.engine.pause(by);
    // Entry proposals could not be placed while paused: withdraw them (exit proposals stay).
    const withdrawn = services.approvals?.withdraw({ kind: 'entry' }, `made moot by /pause (${by})`, by) ?? 0;
    const w = withdrawn ? ` ${counted(withdrawn, 'pending entry proposal')} withdrawn.` : '';
    return {
      text: `Paused by ${by}. No new entries; open positions keep their exits and stops.${w}${stillWorking(services)} /resume to trade again.`,
    };
  },
});
export default spec;

const SHOWN = 5;

/**
 * A pause stops new entries; entry orders already working at the venue stay (as Freqtrade's /stopbuy):
 * say which, and how to withdraw them.
 */
function stillWorking(services: Services, symbol?: string): string {
  const all = deskOf(services).entryOrders(symbol);
  const own = all.filter((o) => o.purpose !== 'grid');
  const grid = all.length - own.length;
  const parts: string[] = [];
  if (own.length) {
    const listed = own.slice(0, SHOWN).map((o) => {
      const { price, qty } = marketFormat(services, o.symbol);
      const size = o.qty !== undefined ? `${qty(o.qty)} ` : '';
      return `${o.clientOrderId} (${o.side} ${size}${o.symbol}${o.price !== undefined ? ` @ ${price(o.price)}` : ''})`;
    });
    const more = own.length > SHOWN ? ` and ${own.length - SHOWN} more` : '';
    const how = own.length === 1 ? `/cancel ${own[0]!.clientOrderId} withdraws it` : '/cancel <id> withdraws one';
    parts.push(`${counted(own.length, 'entry order')}, ${listed.join(', ')}${more} (${how})`);
  }
  if (grid) parts.push(`${counted(grid, 'grid entry order')} (/grid stop ends a grid)`);
  return parts.length ? ` Still working at the venue and able to fill: ${parts.join('; ')}.` : '';
}
