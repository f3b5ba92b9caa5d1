import { defineCommand, type Reply, askerName, busyText, chatJobsFor, outcomeReply } from './kit.ts';

export default defineCommand({
  name: 'stress',
  description: 'Run the running config through the crash windows and shocks its data covers, in a worker',
  minRole: 'admin',
  args: [{ name: 'action', type: 'enum', choices: ['run', 'cancel'], description: 'run (default) or cancel' }],
  async run({ args, services, user }): Promise<Reply> {
    const jobs = chatJobsFor(services);
    if (args.action === 'cancel') {
      const r = jobs.cancel();
      return r
        ? { text: `Cancelling the ${r.kind === 'backtest' ? 'backtest' : 'stress test'} started by ${r.by}.` }
        : { text: 'Nothing is running.', audit: { outcome: 'invalid', reason: 'nothing to cancel' } };
    }
    const busy = jobs.busy();
    if (busy) return { text: busyText(busy, services.clock.now()), severity: 'warning', audit: { outcome: 'refused', reason: 'busy' } };
    const dataDir = services.config.research.dataDir;
    if (dataDir === undefined)
      return {
        text: 'No data folder for /stress: set research.dataDir in the config to a folder of candle CSVs (e.g. ../shared/data).',
        severity: 'warning',
        audit: { outcome: 'invalid', reason: 'no research.dataDir' },
      };
    const o = await jobs.run({ kind: 'stress', config: services.config, dataDir }, askerName(user));
    if ('busy' in o)
      return { text: busyText(o.busy, services.clock.now()), severity: 'warning', audit: { outcome: 'refused', reason: 'busy' } };
    return outcomeReply('stress', o);
  },
});
