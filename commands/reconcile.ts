import { defineCommand } from '../src/chat/command.ts';

export default defineCommand({
  name: 'reconcile',
  description: 'Compare the journal with the venue now and repair differences',
  minRole: 'trader',
  async run({ services }) {
    if (!services.reconcile) return { text: 'Reconciliation runs at start-up here; it cannot be started from chat in this context.' };
    const summary = await services.reconcile();
    return { title: 'Reconciliation', text: summary || 'Done: nothing to report.' };
  },
});
