import {
  defineCommand,
  type Reply,
  askerName,
  busyText,
  chatData,
  chatJobsFor,
  configWith,
  DEFAULT_DAYS,
  outcomeReply,
  parseBacktestArgs,
} from './kit.ts';

export default defineCommand({
  name: 'backtest',
  description: `Backtest the running config on the last N days of data (default ${DEFAULT_DAYS}) in a worker`,
  minRole: 'admin',
  args: [{ name: 'args', type: 'string', rest: true, description: '[days] [path=value…] or cancel, e.g. 60 strategy.params.fast=12' }],
  async run({ args, services, user }): Promise<Reply> {
    const jobs = chatJobsFor(services);
    let parsed;
    try {
      parsed = parseBacktestArgs(typeof args.args === 'string' ? args.args : '');
    } catch (e) {
      const why = (e as Error).message;
      return {
        text: `${why}\nUsage: /backtest [days] [path=value…] | /backtest cancel`,
        severity: 'warning',
        audit: { outcome: 'invalid', reason: why },
      };
    }
    if ('cancel' in parsed) {
      const r = jobs.cancel();
      return r
        ? {
            text: `Cancelling the ${r.kind === 'backtest' ? 'backtest' : 'stress test'} ${askerName(user) === r.by ? 'you' : r.by} started.`,
          }
        : { text: 'Nothing is running.', audit: { outcome: 'invalid', reason: 'nothing to cancel' } };
    }
    const busy = jobs.busy();
    if (busy) return { text: busyText(busy, services.clock.now()), severity: 'warning', audit: { outcome: 'refused', reason: 'busy' } };
    let config;
    try {
      config = configWith(services.config, parsed.specs, parsed.point);
    } catch (e) {
      const why = (e as Error).message;
      return { text: `Refused: ${why}. Nothing was run.`, severity: 'warning', audit: { outcome: 'invalid', reason: why } };
    }
    const d = chatData(services);
    if ('none' in d) return { text: d.none, severity: 'warning', audit: { outcome: 'invalid', reason: 'no data' } };
    const changes = parsed.specs.map((s) => `${s.path}=${String(s.values[0])}`).join(' ');
    // On candle time the last N days end at the replay's now: the data past it is the replay's future.
    const now = services.engine.status().now;
    const until = services.engine.clockKind === 'candle' && now > 0 ? { until: now } : {};
    const o = await jobs.run({ kind: 'backtest', config, data: d.data, days: parsed.days, changes, ...until }, askerName(user));
    if ('busy' in o)
      return { text: busyText(o.busy, services.clock.now()), severity: 'warning', audit: { outcome: 'refused', reason: 'busy' } };
    return outcomeReply('backtest', o);
  },
});
