import {
  defineCommand,
  usage,
  type CommandSpec,
  duration,
  utc,
  badArgs,
  parseDuration,
  ALERT_TYPES,
  ALWAYS_CRITICAL,
  wallTimeNote,
} from './kit.ts';

const MAX_MUTE_MS = 7 * 86_400_000;
const CRITICAL_NOTE = 'Critical alerts are never muted.';
/** What the journal's overall delivery means, where it is not simply "sent". */
const DELIVERY_NOTE: Record<string, string> = {
  muted: ' [muted]',
  coalesced: ' [in a summary]',
  dropped: ' [held back: flood]',
  failed: ' [delivery failed]',
  partial: ' [partly delivered]',
};

const spec: CommandSpec = defineCommand({
  name: 'alerts',
  description: 'Alert routing and mutes; mute/unmute a type (trader)',
  minRole: 'viewer',
  args: [
    { name: 'action', type: 'enum', choices: ['mute', 'unmute'], description: 'mute <type> <duration> or unmute <type>' },
    { name: 'type', type: 'string', description: `alert type: ${ALERT_TYPES.join(', ')}` },
    { name: 'duration', type: 'string', description: 'e.g. 30m, 2h, 1d (max 7d)' },
  ],
  roleFor: (args) => (args.action !== undefined ? 'trader' : 'viewer'),
  run({ args, services }) {
    const al = services.alerts;
    if (!al) return { text: 'Alert controls are not available in this context.' };
    const action = args.action as 'mute' | 'unmute' | undefined;
    const now = services.clock.now();
    // Alerts and mutes are on the wall clock; say so when the engine keeps candle time.
    const wall = wallTimeNote(services.engine.clockKind);
    if (action === undefined) {
      if (args.type !== undefined) return badArgs('say mute or unmute first', usage(spec));
      const routes = al.routes();
      const mutes = al.mutes();
      const recent = services.journal.recentAlerts(5);
      const lines = [
        `Delivered to: ${routes.length ? routes.join(', ') : 'no channel (alerts are only journaled)'}`,
        mutes.length
          ? `Muted:\n${mutes.map((m) => `  ${m.type} until ${utc(m.until)}${wall} (${duration(m.until - now)} left)`).join('\n')}`
          : 'Muted: nothing',
        CRITICAL_NOTE,
      ];
      if (recent.length) {
        lines.push(
          `Recent${wall}:\n${recent
            .reverse()
            .map(
              (a) =>
                // A summary's title already carries its count ("… ×14", "Alert storm: 14 alert(s) …").
                `  ${utc(a.ts)} ${a.severity} ${a.type}: ${a.title}${DELIVERY_NOTE[a.delivery] ?? ''}`,
            )
            .join('\n')}`,
        );
      }
      return { title: 'Alerts', text: lines.join('\n') };
    }
    const type = (args.type as string | undefined)?.toLowerCase();
    if (type === undefined) return badArgs(`${action} needs an alert type`, usage(spec));
    if (!(ALERT_TYPES as readonly string[]).includes(type)) {
      return badArgs(`unknown alert type "${args.type as string}"; types: ${ALERT_TYPES.join(', ')}`, usage(spec));
    }
    if (action === 'unmute') {
      if (args.duration !== undefined) return badArgs('unmute takes no duration', usage(spec));
      if (!al.mutes().some((m) => m.type === type)) return { text: `${type} alerts are not muted.` };
      al.unmute(type);
      return { text: `${type} alerts are delivered again.` };
    }
    if ((ALWAYS_CRITICAL as readonly string[]).includes(type)) {
      const why = `${type} alerts are always critical, and critical alerts are never muted`;
      return { text: `${why}: nothing was muted.`, severity: 'warning', audit: { outcome: 'refused', reason: why } };
    }
    const raw = args.duration as string | undefined;
    if (raw === undefined) return badArgs('mute needs a duration, e.g. 30m, 2h or 1d', usage(spec));
    const ms = parseDuration(raw);
    if (ms === null) return badArgs(`"${raw}" is not a duration (e.g. 30m, 2h, 1d)`, usage(spec));
    if (ms > MAX_MUTE_MS) return badArgs('a mute lasts at most 7d', usage(spec));
    const until = now + ms;
    al.mute(type, until);
    return { text: `${type} alerts muted for ${duration(ms)}, until ${utc(until)}${wall}. They are still journaled. ${CRITICAL_NOTE}` };
  },
});

export default spec;
