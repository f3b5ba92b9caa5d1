import { defineCommand, actor, counted } from './kit.ts';

export default defineCommand({
  name: 'flatten',
  description: 'Cancel all orders and close all positions at market',
  minRole: 'admin',
  confirm({ services }) {
    const st = services.engine.status();
    const proposals = services.approvals?.pendingList().length ?? 0;
    // Nothing to cancel, close or withdraw: nothing to confirm (run() says so).
    if (!st.liveOrders.length && !st.positions.length && !proposals) return null;
    return `Cancel ${counted(st.liveOrders.length, 'open order')} and close ${counted(st.positions.length, 'position')} at market${st.positions.length ? ` (${st.positions.map((p) => p.symbol).join(', ')})` : ''}${proposals ? `, and withdraw ${counted(proposals, 'pending trade proposal')}` : ''}?`;
  },
  run({ user, services }) {
    // Pending proposals are moot once everything is closed: withdraw them first, so that nothing
    // (a held replay included) waits on them.
    const withdrawn = services.approvals?.withdraw({}, `made moot by /flatten (${actor(user)})`, actor(user)) ?? 0;
    const r = services.engine.flatten(actor(user));
    const w = withdrawn ? ` ${counted(withdrawn, 'pending trade proposal')} withdrawn.` : '';
    if (r.cancelled === 0 && r.closing.length === 0) return { text: `Nothing to do: no open orders, no positions.${w}` };
    return {
      text: `Flatten: ${counted(r.cancelled, 'order')} cancelled, closing ${r.closing.length ? r.closing.join(', ') : 'nothing'} at market.${w} Fills will be reported; check /positions.`,
    };
  },
});
