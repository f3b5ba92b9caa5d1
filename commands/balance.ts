import { defineCommand, kv, money, percent, signedMoney, table, assetAmount, quoteOf, errorMessage, type Balance } from './kit.ts';

export default defineCommand({
  name: 'balance',
  description: 'Cash, equity, venue balances and capital in use',
  minRole: 'viewer',
  async run({ services }) {
    const e = services.engine;
    const st = e.status();
    const ccy = quoteOf(services.config.market.symbols);
    const inUse = e.portfolio.capitalInUse();
    const maxUse = e.risk.limits.maxCapitalInUse;
    const pairs: Array<[string, string]> = [
      ['Equity', money(st.equity, ccy)],
      ['Cash', money(st.cash, ccy)],
      ['Free cash', money(st.freeCash, ccy)],
      ['Capital in use', `${money(inUse, ccy)} (${percent(st.equity > 0 ? inUse / st.equity : 0)} of equity; limit ${percent(maxUse)})`],
      ['Unrealized', signedMoney(st.unrealizedPnl, ccy)],
    ];
    let venue: string;
    try {
      const bs: Balance[] = (await e.exchange.fetchBalances()).filter((b) => b.free !== 0 || b.locked !== 0);
      venue = bs.length
        ? table(
            bs.map((b) => [b.asset, ...[b.free, b.locked, b.free + b.locked].map((x) => assetAmount(services, b.asset, x))]),
            ['asset', 'free', 'locked', 'total'],
          )
        : 'No balances on the venue.';
    } catch (err) {
      venue = `Could not fetch balances from ${st.venue}: ${errorMessage(err)}`;
    }
    return { title: 'Balance', text: `${kv(pairs)}\n\nVenue balances (${st.venue}):\n${venue}`, mono: true };
  },
});
