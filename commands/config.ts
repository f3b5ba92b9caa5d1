import { defineCommand, utc, renderConfig, deskOf } from './kit.ts';

/** Longer than this, the config goes as a file (the transports would split it into several messages). */
const MAX_INLINE = 3500;

export default defineCommand({
  name: 'config',
  description: 'The running config, secrets masked (yaml or json)',
  minRole: 'admin',
  ephemeral: true,
  args: [{ name: 'format', type: 'enum', choices: ['yaml', 'json'], description: 'yaml (default) or json' }],
  run({ args, services, user }) {
    const format = args.format === 'json' ? 'json' : 'yaml';
    const body = renderConfig(services.config, format);
    const c = services.configControls;
    const last = c?.last();
    const overrides = Object.keys(deskOf(services).risk().saved);
    const source = services.dataSource?.();
    const notes = [
      `From ${c?.file ?? 'the embedded defaults'}${last ? `; last /reload ${utc(last.ts)} by ${last.by} (${last.changed.join(', ')})` : ''}.`,
      ...(overrides.length ? [`Risk limits changed from chat (in force, see /risk): ${overrides.join(', ')}.`] : []),
      ...(source?.kind === 'replay' && source.from === 'command line'
        ? [`Data: a replay of ${source.file} from the command line (--replay), in place of data.source below.`]
        : []),
      'Secrets come from the environment and are masked.',
    ].join('\n');
    if (body.length <= MAX_INLINE || user.transport === 'console')
      return { title: 'Running config', text: `${notes}\n\n${body}`, mono: true, ephemeral: true };
    return {
      title: 'Running config',
      text: `${notes}\nThe config (${body.length} characters) is attached.`,
      document: { data: Buffer.from(body + '\n'), filename: `skipper-config.${format}` },
      ephemeral: true,
    };
  },
});
