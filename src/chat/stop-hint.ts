import type { Services } from './services.ts';

/**
 * After a journal fault, next to a position's stop price: whether that stop still works. On paper
 * nothing is simulated any more; live, the stop stays on the venue but the bot no longer watches it.
 */
export function stopFaultHint(services: Services): string {
  if (!services.journalFault?.()) return '';
  return services.engine.mode === 'live' ? ' (on the venue; journal failed: not watched)' : ' (NOT working: journal failed, paper stopped)';
}
