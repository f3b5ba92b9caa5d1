import { defineCommand, usage, hasRole, roleRefusal, suggestCommand, type CommandSpec } from './kit.ts';

const ROLE_WORD = { viewer: 'every allow-listed user', trader: 'traders and admins', admin: 'admins only' } as const;

/** One command in full: what it does, who may run it, and each argument. */
function detail(c: CommandSpec): string {
  const args = (c.args ?? []).map((a) => {
    const range = a.choices ? ` (one of ${a.choices.join(', ')})` : '';
    return `  ${a.required ? `<${a.name}>` : `[${a.name}]`} — ${a.description}${range}${a.required ? '' : ', optional'}`;
  });
  return [
    usage(c),
    c.description,
    `For ${ROLE_WORD[c.minRole]}${c.confirm ? '; asks you to confirm before it acts' : ''}.`,
    ...(args.length ? ['', ...args] : []),
  ].join('\n');
}

export default defineCommand({
  name: 'help',
  description: 'List the commands you can use, or explain one (/help close)',
  minRole: 'viewer',
  args: [{ name: 'command', type: 'string', description: 'a command, e.g. close' }],
  run({ user, services, args }) {
    const mine = services.commands().filter((c) => hasRole(user.role, c.minRole));
    const asked = typeof args['command'] === 'string' ? args['command'].replace(/^\//, '').toLowerCase() : undefined;
    if (asked !== undefined) {
      const c = mine.find((x) => x.name === asked);
      if (c) return { title: `/${c.name}`, text: detail(c) };
      const other = services.commands().find((x) => x.name === asked);
      if (other) return { text: `${roleRefusal(other.name, other.minRole, user.role)} It is for ${ROLE_WORD[other.minRole]}.` };
      const meant = suggestCommand(
        asked,
        mine.map((x) => x.name),
      );
      return {
        text: `No command /${asked}.${meant ? ` Did you mean /${meant}?` : ''} /help lists the ones you can use.`,
        audit: { outcome: 'invalid', reason: 'no such command' },
      };
    }
    const lines = mine.map((c) => `${usage(c)} — ${c.description}${c.minRole !== 'viewer' ? ` (${c.minRole})` : ''}`);
    return { title: 'Skipper commands', text: `${lines.join('\n')}\n\n/help <command> explains one.` };
  },
});
