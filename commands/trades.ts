import { defineCommand, buildTradesReply, reportSourceFor } from './kit.ts';

export default defineCommand({
  name: 'trades',
  description: 'The last n closed trades with their net PnL',
  minRole: 'viewer',
  args: [{ name: 'n', type: 'int', min: 1, max: 50, description: 'How many trades (default 10, max 50)' }],
  run({ args, services }) {
    return buildTradesReply(reportSourceFor(services), (args.n as number | undefined) ?? 10);
  },
});
