import type { LiveVenueId } from '../venues.ts';
import { BINANCE } from './binance.ts';
import { BYBIT } from './bybit.ts';
import type { VenueSpec } from './spec.ts';

/** The spec of every live venue (venues.ts lists the ids; a missing one fails the type check). */
export const CCXT_SPECS: Record<LiveVenueId, VenueSpec> = { binance: BINANCE, bybit: BYBIT };
