import type { OrderStatus } from './types.ts';
import { TERMINAL_STATUSES } from './types.ts';

// Allowed moves of the order state machine. `unknown` may resolve to anything the venue reports;
// terminal states never move again, so a late or repeated update cannot resurrect an order.
const NEXT: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  new: ['submitted', 'rejected', 'unknown', 'cancelled', 'open', 'partially_filled', 'filled', 'expired'],
  submitted: ['open', 'partially_filled', 'filled', 'cancelled', 'rejected', 'expired', 'unknown'],
  open: ['partially_filled', 'filled', 'cancelled', 'expired', 'unknown'],
  partially_filled: ['partially_filled', 'filled', 'cancelled', 'expired', 'unknown'],
  unknown: ['submitted', 'open', 'partially_filled', 'filled', 'cancelled', 'rejected', 'expired', 'unknown'],
  filled: [],
  cancelled: [],
  rejected: [],
  expired: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return NEXT[from].includes(to);
}

export const isTerminal = (s: OrderStatus): boolean => TERMINAL_STATUSES.has(s);

/** The reason an order the venue never got is closed out with (a crash, a lost request): no refusal. */
export const NEVER_REACHED = 'never reached the venue';

/** The reason an order the venue turned away for its rate limit (not for anything about the order) is closed out with. */
export const RATE_LIMITED = 'rate-limited by the venue';

/**
 * Closed out without the venue refusing the order itself: it never got it, or turned it away for its
 * rate limit. Placing the same order again is safe (a protective order is placed again at once).
 */
export const notPlaced = (o: { status: OrderStatus; reason?: string }): boolean =>
  o.status === 'rejected' && (o.reason?.startsWith(NEVER_REACHED) === true || o.reason?.startsWith(RATE_LIMITED) === true);

/** Why a trader's /cancel cancelled an order: "cancelled by ada". A restart re-sends such a cancel the venue never carried out. */
export const TRADER_CANCEL = 'cancelled by ';
export const traderCancel = (actor: string): string => `${TRADER_CANCEL}${actor}`;
