import { defineCommand, buildHistoryReply, reportSourceFor } from './kit.ts';

export default defineCommand({
  name: 'weekly',
  description: 'PnL per week (Monday to Sunday) for the last n weeks, with a bar chart',
  minRole: 'viewer',
  args: [{ name: 'n', type: 'int', min: 1, max: 52, description: 'How many weeks (default 4, max 52)' }],
  run({ args, services }) {
    return buildHistoryReply(reportSourceFor(services), 'week', (args.n as number | undefined) ?? 4);
  },
});
