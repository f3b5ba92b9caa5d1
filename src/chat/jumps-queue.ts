// Telegram handles one chat's updates in order; a cancel must not wait behind the job it cancels.

/** `/backtest cancel`, `/stress cancel` (with or without @botname): handled beside the chat's queue. */
export const jumpsTheQueue = (text: string | undefined): boolean => /^\/(backtest|stress)(@\S+)?\s+cancel\s*$/i.test(text?.trim() ?? '');
