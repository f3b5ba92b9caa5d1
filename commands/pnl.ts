import {
  defineCommand,
  fundingRow,
  kv,
  money,
  pct,
  periodFunding,
  periodStart,
  periodTitle,
  PERIODS,
  signedMoney,
  type Period,
} from './kit.ts';

export default defineCommand({
  name: 'pnl',
  description: 'Profit and loss for a period',
  minRole: 'viewer',
  args: [{ name: 'period', type: 'enum', choices: PERIODS, description: 'day, week, month or all', required: false }],
  run({ args, services }) {
    const period = (args.period as Period | undefined) ?? 'day';
    const st = services.engine.status();
    const since = periodStart(period, st.now);
    const j = services.journal;
    const startRow = since > 0 ? j.equityBefore(since + 1) : undefined;
    const startEquity =
      period === 'all' ? services.engine.startingCash : (startRow?.equity ?? j.equitySeries(since)[0]?.equity ?? st.equity);
    const { trades, wins, realized, fees } = j.pnlTotals(since);
    // Funding (perps) moves the equity without being any trade's realized PnL: a line of its own.
    const funding = periodFunding(j, since);
    const change = st.equity - startEquity;
    // The rows count whole trades, the equity change only this period: say what is left between them.
    const rest = change - realized - st.unrealizedPnl - (funding ?? 0);
    const note =
      Math.abs(rest) >= 0.005
        ? `\nEquity change − realized − unrealized${funding !== null ? ' − funding' : ''}: ${signedMoney(rest)} (open trades' entry fees, and what trades spanning the period's start made before it).`
        : '';
    return {
      title: `PnL — ${periodTitle(period, services.engine.clockKind)}`,
      text:
        kv([
          ['Equity change', `${signedMoney(change)} (${pct(startEquity > 0 ? change / startEquity : 0)})`],
          ['Realized (net)', signedMoney(realized)],
          ['Unrealized', signedMoney(st.unrealizedPnl)],
          ['Fees', money(fees)],
          ...fundingRow(funding),
          ['Closed trades', `${trades}${trades ? ` (${wins} won)` : ''}`],
          ['Equity now', money(st.equity)],
        ]) + note,
      mono: true,
    };
  },
});
