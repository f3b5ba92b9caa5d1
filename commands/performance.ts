import { buildPerformanceReply, defineCommand, PERIODS, reportSourceFor, type Period } from './kit.ts';

export default defineCommand({
  name: 'performance',
  description: 'Closed trades by exit reason and by symbol: count, win rate, net PnL, time held',
  minRole: 'viewer',
  args: [{ name: 'period', type: 'enum', choices: PERIODS, description: 'day, week, month or all (default all)', required: false }],
  run({ args, services }) {
    return buildPerformanceReply(reportSourceFor(services), (args.period as Period | undefined) ?? 'all');
  },
});
