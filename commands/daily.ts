import { defineCommand, buildHistoryReply, reportSourceFor } from './kit.ts';

export default defineCommand({
  name: 'daily',
  description: 'PnL per day for the last n days, with a bar chart',
  minRole: 'viewer',
  args: [{ name: 'n', type: 'int', min: 1, max: 90, description: 'How many days (default 7, max 90)' }],
  run({ args, services }) {
    return buildHistoryReply(reportSourceFor(services), 'day', (args.n as number | undefined) ?? 7);
  },
});
