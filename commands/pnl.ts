import { defineCommand, kv, money, pct, signedMoney, DAY_MS, utcDayStart } from './kit.ts';

const PERIODS = ['day', 'week', 'month', 'all'] as const;

export default defineCommand({
  name: 'pnl',
  description: 'Profit and loss for a period',
  minRole: 'viewer',
  args: [{ name: 'period', type: 'enum', choices: PERIODS, description: 'day, week, month or all', required: false }],
  run({ args, services }) {
    const period = (args.period as (typeof PERIODS)[number] | undefined) ?? 'day';
    const st = services.engine.status();
    const now = st.now;
    const since = period === 'day' ? utcDayStart(now) : period === 'week' ? now - 7 * DAY_MS : period === 'month' ? now - 30 * DAY_MS : 0;
    const j = services.journal;
    const startRow = since > 0 ? j.equityBefore(since + 1) : undefined;
    const startEquity =
      period === 'all' ? services.engine.startingCash : (startRow?.equity ?? j.equitySeries(since)[0]?.equity ?? st.equity);
    const { trades, wins, realized, fees } = j.pnlTotals(since);
    const change = st.equity - startEquity;
    return {
      title: `PnL — ${period === 'all' ? 'all time' : period === 'day' ? 'today (UTC)' : `last ${period}`}`,
      text: kv([
        ['Equity change', `${signedMoney(change)} (${pct(startEquity > 0 ? change / startEquity : 0)})`],
        ['Realized (net)', signedMoney(realized)],
        ['Unrealized', signedMoney(st.unrealizedPnl)],
        ['Fees', money(fees)],
        ['Closed trades', `${trades}${trades ? ` (${wins} won)` : ''}`],
        ['Equity now', money(st.equity)],
      ]),
      mono: true,
    };
  },
});
