import { defineCommand, table, counted, wallTimeNote } from './kit.ts';

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export default defineCommand({
  name: 'audit',
  description: 'Recent chat commands: who, what, outcome',
  minRole: 'admin',
  args: [{ name: 'n', type: 'int', min: 1, max: 100, description: 'how many rows (default 20, max 100)' }],
  run({ args, services }) {
    const n = (args.n as number | undefined) ?? 20;
    const rows = services.journal.recentCommands(n).reverse();
    if (!rows.length) return { text: 'No commands recorded yet.' };
    const names = new Set(services.commands().map((c) => c.name));
    const body = rows.map((r) => [
      new Date(r.ts).toISOString().slice(5, 19).replace('T', ' '),
      r.transport,
      cut(r.userName ?? r.userId, 16),
      r.role ?? '-',
      // Button presses (confirm, approval) are not slash commands.
      cut(`${names.has(r.command) ? '/' : ''}${r.command}${r.args ? ` ${r.args}` : ''}`, 40),
      r.outcome,
      r.outcome === 'ok' || r.outcome === 'confirmed' ? '' : cut(r.detail ?? '', 40),
    ]);
    return {
      title: `Last ${counted(rows.length, 'command')} (UTC${wallTimeNote(services.engine.clockKind) ? ', wall clock' : ''})`,
      text: table(body, ['time', 'via', 'user', 'role', 'command', 'outcome', 'detail']).replace(/ +$/gm, ''),
      mono: true,
    };
  },
});
