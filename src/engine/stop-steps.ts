import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

/**
 * One step of a shutdown: its failure is logged and the next step still runs, so a failing journal
 * (a full disk, say) can't keep the transports, the ops server or the exchange from being stopped.
 */
export async function stopStep(log: Logger, name: string, fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (e) {
    log.error({ step: name, error: errorMessage(e) }, `stop: ${name} failed`);
  }
}
