import { defineCommand, humanLogLine, tailLines, scrubSecrets, counted } from './kit.ts';

export default defineCommand({
  name: 'logs',
  description: 'The last lines of the log file',
  minRole: 'admin',
  args: [{ name: 'n', type: 'int', min: 1, max: 200, description: 'how many lines (default 20, max 200)' }],
  async run({ args, services }) {
    const n = (args.n as number | undefined) ?? 20;
    const file = services.logFile;
    if (!file) return { text: 'This bot has no log file.' };
    let lines: string[];
    try {
      lines = await tailLines(file, n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { text: 'The log file has not been written yet.' };
      throw e;
    }
    if (!lines.length) return { text: 'The log file is empty.' };
    return {
      title: `Last ${counted(lines.length, 'log line')}`,
      text: lines.map((l) => scrubSecrets(humanLogLine(l))).join('\n'),
      mono: true,
      ephemeral: true,
    };
  },
});
