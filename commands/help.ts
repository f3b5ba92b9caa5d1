import { defineCommand, usage, hasRole } from './kit.ts';

export default defineCommand({
  name: 'help',
  description: 'List the commands you can use',
  minRole: 'viewer',
  run({ user, services }) {
    const lines = services
      .commands()
      .filter((c) => hasRole(user.role, c.minRole))
      .map((c) => `${usage(c)} — ${c.description}${c.minRole !== 'viewer' ? ` (${c.minRole})` : ''}`);
    return { title: 'Skipper commands', text: lines.join('\n') };
  },
});
