import { defineCommand, buildChartReply, reportSourceFor, type ChartKind } from './kit.ts';

const KINDS = ['equity', 'pnl'] as const satisfies readonly ChartKind[];
/** Fixed choices, so the dispatcher validates them and Discord can offer them as a list. */
export const CHART_PERIODS = ['1d', '7d', '14d', '30d', '90d', '180d', '365d', 'all'] as const;

export default defineCommand({
  name: 'chart',
  description: 'Equity curve or daily PnL bars as an image',
  minRole: 'viewer',
  args: [
    { name: 'kind', type: 'enum', choices: KINDS, description: 'equity (default) or pnl' },
    { name: 'period', type: 'enum', choices: CHART_PERIODS, description: 'How far back (default 30d)' },
  ],
  run({ args, services }) {
    const kind = (args.kind as ChartKind | undefined) ?? 'equity';
    const period = (args.period as string | undefined) ?? '30d';
    return buildChartReply(reportSourceFor(services), kind, period === 'all' ? null : Number.parseInt(period, 10));
  },
});
