// Symbols: "BTC/USDT" (spot), "BTC/USDT:USDT" (a USDT-margined perp), or a venue id like "BTCUSDT".

export const QUOTES = ['USDT', 'USDC', 'FDUSD', 'BUSD', 'TUSD', 'USD', 'EUR', 'BTC', 'ETH', 'BNB'];

/** [base, quote] of a symbol; the settle currency of a perp is dropped. */
export function splitSymbol(symbol: string): [string, string] {
  const s = symbol.split(':')[0] ?? symbol;
  const i = s.indexOf('/');
  if (i > 0) return [s.slice(0, i), s.slice(i + 1)];
  for (const q of QUOTES) if (s.length > q.length && s.endsWith(q)) return [s.slice(0, -q.length), q];
  return [s, 'USDT'];
}

/** The quote currency of the account: that of its first symbol. */
export const quoteOf = (symbols: readonly string[]): string => (symbols[0] ? splitSymbol(symbols[0])[1] : 'USDT');
