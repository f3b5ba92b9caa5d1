import { defineCommand, kv, hasRole, type Role } from './kit.ts';

const CAN: Record<Role, string> = {
  viewer: 'read-only: status, positions, orders, PnL, reports, risk and health',
  trader: 'a viewer’s reads, plus pause/resume, manual orders, close and cancel, approvals and alert mutes',
  admin: 'everything: a trader’s controls, plus flatten, risk limit changes, logs and the audit trail',
};

export default defineCommand({
  name: 'whoami',
  description: 'Your user id, role and what it allows',
  minRole: 'viewer',
  run({ user, services }) {
    const role = user.role!; // the dispatcher only lets allow-listed users through
    const cmds = services
      .commands()
      .filter((c) => hasRole(role, c.minRole))
      .map((c) => `/${c.name}`);
    return {
      title: 'You',
      text: kv([
        ['Transport', user.transport],
        ['User id', user.id],
        ['Name', user.name ?? '—'],
        ['Role', role],
        ['May', CAN[role]],
        ['Commands', cmds.join(' ')],
      ]),
      ephemeral: true,
    };
  },
});
