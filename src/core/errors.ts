/** A problem the user can fix: printed as-is, without a stack. */
export class UserError extends Error {
  override name = 'UserError';
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
