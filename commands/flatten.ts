import { defineCommand } from '../src/chat/command.ts';

export default defineCommand({
  name: 'flatten',
  description: 'Cancel all orders and close all positions at market',
  minRole: 'admin',
  confirm({ services }) {
    const st = services.engine.status();
    // Nothing to cancel or close: nothing to confirm (run() says so).
    if (!st.liveOrders.length && !st.positions.length && !(services.approvals?.pendingList().length ?? 0)) return null;
    return `Cancel ${st.liveOrders.length} open order(s) and close ${st.positions.length} position(s) at market${st.positions.length ? ` (${st.positions.map((p) => p.symbol).join(', ')})` : ''}?`;
  },
  run({ user, services }) {
    const r = services.engine.flatten(user.name ?? user.id);
    if (r.cancelled === 0 && r.closing.length === 0) return { text: 'Nothing to do: no open orders, no positions.' };
    return {
      text: `Flatten: ${r.cancelled} order(s) cancelled, closing ${r.closing.length ? r.closing.join(', ') : 'nothing'} at market. Fills will be reported; check /positions.`,
    };
  },
});
