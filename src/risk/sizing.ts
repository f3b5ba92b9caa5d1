// Volatility sizing: the position whose loss over `multiple` typical moves (stdev of 1-bar returns)
// is the per-trade risk budget. The stop-based max-loss rule still caps it afterwards.

/** Base quantity, or null while the volatility is unknown (not enough bars yet). */
export function volatilityQty(equity: number, riskPerTrade: number, price: number, vol: number | null, multiple: number): number | null {
  if (vol === null || !(vol > 0) || !(price > 0)) return null;
  return (equity * riskPerTrade) / (price * vol * multiple);
}
