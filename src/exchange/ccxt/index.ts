// The live venues through ccxt: what the rest of the bot uses.
export { CcxtExchange } from './adapter.ts';
export { VenueUnreachable, clean } from './errors.ts';
export { RESOLVE_MARGIN_MS, type CcxtExchangeOptions } from './state.ts';
