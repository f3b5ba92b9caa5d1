/**
 * Prices a market can have. Below 1e-10: 100× finer than the finest tick Binance or Bybit quote
 * (1e-8). Above 1e12: 1,000× the dearest pair they list, and well below 2^53 cents (≈ 9e13), where a
 * double stops carrying a notional to the cent. Outside, it is a feed error, not a market. The
 * validator rejects candles outside; the paper venue never fills outside (defence in depth).
 */
export const MIN_PRICE = 1e-10;
export const MAX_PRICE = 1e12;

/** False for zero, negatives, NaN, ±Infinity and anything outside [MIN_PRICE, MAX_PRICE]. */
export const isPossiblePrice = (p: number): boolean => p >= MIN_PRICE && p <= MAX_PRICE;
