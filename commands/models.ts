import { defineCommand, usage, type CommandSpec, percent, utc, actor, badArgs, wallTimeNote, type ModelView } from './kit.ts';

const ACTIONS = ['disable', 'enable', 'reload'] as const;

/** "52.3% (n=412)" — live hit rate of the serving version, vs. the manifest's training figure. */
function liveLine(v: ModelView): string {
  const train = v.training.hit_rate;
  const trained = train === undefined ? '' : `; trained ${percent(train, 1)}`;
  if (v.live === null || v.live.directional === 0) return `hit rate: none scored yet${trained}`;
  const brier = Number.isFinite(v.live.brier)
    ? `, Brier ${v.live.brier.toFixed(3)}${v.training.brier !== undefined ? ` (trained ${v.training.brier.toFixed(3)})` : ''}`
    : '';
  return `hit rate ${percent(v.live.hitRate, 1)} (n=${v.live.directional})${trained}; mean return followed ${percent(v.live.meanReturn, 3)}${brier}`;
}

function calibrationLine(v: ModelView): string | null {
  if (v.live === null || v.live.calibration.length === 0) return null;
  return `calibration (confidence → hit rate): ${v.live.calibration
    .map((b) => `${b.from.toFixed(1)}–${b.to.toFixed(1)}: ${percent(b.hitRate, 0)} n=${b.n}`)
    .join(', ')}`;
}

const spec: CommandSpec = defineCommand({
  name: 'models',
  description: 'Models of the ensemble: versions, live hit rates; disable/enable/reload (admin)',
  minRole: 'viewer',
  args: [
    { name: 'action', type: 'enum', choices: ACTIONS, description: 'disable <name>, enable <name> or reload [name]' },
    { name: 'name', type: 'string', description: 'model folder name' },
  ],
  roleFor: (args) => (args.action !== undefined ? 'admin' : 'viewer'),
  confirm({ args, services }) {
    const a = args.action as (typeof ACTIONS)[number] | undefined;
    if ((a !== 'disable' && a !== 'enable') || args.name === undefined || !services.models) return null;
    return a === 'disable'
      ? `Take model ${String(args.name)} out of the ${services.models.strategy}?`
      : `Put model ${String(args.name)} back into the ${services.models.strategy}?`;
  },
  async run({ args, user, services }) {
    const m = services.models;
    if (!m) return { text: `No models: the strategy is ${services.config.strategy.name} (model or ensemble strategies have models).` };
    const action = args.action as (typeof ACTIONS)[number] | undefined;
    const name = args.name as string | undefined;
    if (action === 'reload') return { title: 'Models reload', text: (await m.reload(name)).join('\n') };
    if (action === 'disable' || action === 'enable') {
      if (name === undefined) return badArgs('name the model', usage(spec));
      return { text: m.setEnabled(name, action === 'enable', actor(user)).text };
    }
    if (name !== undefined) return badArgs('say disable, enable or reload first', usage(spec));
    const lines = [`${m.strategy}, ${m.mode} vote, entries need confidence ≥ ${m.minConfidence}. Outcomes are scored on candle time.`];
    for (const v of m.list()) {
      const state = v.version === null ? 'NOT LOADED' : v.enabled ? 'enabled' : 'DISABLED';
      lines.push(`${v.name} v${v.version ?? '–'} — weight ${v.weight}, ${state}${v.horizon !== null ? `, horizon ${v.horizon} bars` : ''}`);
      if (v.last !== null)
        lines.push(
          `  last: ${v.last.action} at ${percent(v.last.confidence, 0)} confidence, candle ${utc(v.last.ts)}${v.last.version !== v.version ? ` (v${v.last.version})` : ''}`,
        );
      lines.push(`  ${liveLine(v)}`);
      const cal = calibrationLine(v);
      if (cal !== null) lines.push(`  ${cal}`);
      if (v.lastError !== null) lines.push(`  problem: ${v.lastError}`);
    }
    const ev = m.recentEvents(3);
    // Model events are stamped on the wall clock; in a replay the candle times above are not.
    if (ev.length > 0)
      lines.push(
        `Recent${wallTimeNote(services.engine.clockKind)}: ${ev.map((e) => `${utc(e.ts)} ${e.model} ${e.type}: ${e.detail}`).join('; ')}`,
      );
    return { title: 'Models', text: lines.join('\n') };
  },
});

export default spec;
