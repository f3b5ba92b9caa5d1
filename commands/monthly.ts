import { defineCommand, buildHistoryReply, reportSourceFor } from './kit.ts';

export default defineCommand({
  name: 'monthly',
  description: 'PnL per calendar month for the last n months, with a bar chart',
  minRole: 'viewer',
  args: [{ name: 'n', type: 'int', min: 1, max: 36, description: 'How many months (default 6, max 36)' }],
  run({ args, services }) {
    return buildHistoryReply(reportSourceFor(services), 'month', (args.n as number | undefined) ?? 6);
  },
});
