import { defineCommand } from '../src/chat/command.ts';
import { buildHistoryReply, reportSourceFor } from '../src/reports/build.ts';

export default defineCommand({
  name: 'monthly',
  description: 'PnL per calendar month for the last n months, with a bar chart',
  minRole: 'viewer',
  args: [{ name: 'n', type: 'int', min: 1, max: 36, description: 'How many months (default 6, max 36)' }],
  run({ args, services }) {
    return buildHistoryReply(reportSourceFor(services), 'month', (args.n as number | undefined) ?? 6);
  },
});
