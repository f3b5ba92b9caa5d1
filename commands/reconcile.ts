import { defineCommand } from './kit.ts';

export default defineCommand({
  name: 'reconcile',
  description: 'Compare the journal with the venue now; "accept" adopts the venue’s balances and positions',
  minRole: 'trader',
  args: [{ name: 'accept', type: 'enum', choices: ['accept'], description: 'adopt what the venue reports (admin)', required: false }],
  roleFor: (args) => (args.accept ? 'admin' : 'trader'),
  confirm: ({ args }) =>
    args.accept
      ? 'Adopt the venue’s balances, positions and open orders as the truth? Do this only after checking the account on the exchange.'
      : null,
  async run({ args, services }) {
    if (!services.reconcile) return { text: 'Reconciliation is not available in this context.' };
    const summary = await services.reconcile(args.accept === 'accept');
    return { title: args.accept ? 'Reconciliation (accepted)' : 'Reconciliation', text: summary || 'Done: nothing to report.' };
  },
});
