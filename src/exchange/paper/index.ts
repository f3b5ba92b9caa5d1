// The paper exchange: Skipper's built-in simulated venue.
export { PaperExchange } from './venue.ts';
export type { PaperExchangeOptions } from './books.ts';
export { PaperStore } from './store.ts';
export { defaultMarket } from '../default-market.ts';
