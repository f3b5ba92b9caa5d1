// Small helpers shared by commands: who did it, which traded symbol was meant, durations.
import type { Services } from './services.ts';
import type { ChatUser, Reply } from './types.ts';
import { quoteOf, splitSymbol } from '../core/symbols.ts';
import { forMarket, money, qty } from '../core/format.ts';
import type { RiskDecision, RiskState } from '../risk/types.ts';
import { engineTimeNote, type ClockKind } from '../core/clock.ts';
import { utc } from './format.ts';

/** How a user is named in the journal and in replies ("by …"). */
export const actor = (u: ChatUser): string => u.name ?? u.id;

/** Who a live start's pause is "by" until an admin says go (src/app/go-live.ts); only an admin lifts it. */
export const LIVE_HOLD = 'live start: waiting for an admin to confirm';
export const isLiveHold = (rs: { paused: boolean; pausedBy?: string | undefined }): boolean => rs.paused && rs.pausedBy === LIVE_HOLD;

/** Prices and quantities of a traded symbol, in its market's tick and lot step. */
export const marketFormat = (s: Services, symbol: string): ReturnType<typeof forMarket> => forMarket(s.engine.marketInfo(symbol));

/** An amount of one asset: money for the account's quote currency, else a quantity in the lot step of the market that trades it. */
export function assetAmount(s: Services, asset: string, x: number): string {
  if (asset === quoteOf(s.config.market.symbols)) return money(x, '');
  const sym = s.engine.symbolList().find((t) => splitSymbol(t)[0] === asset);
  return qty(x, sym !== undefined ? s.engine.marketInfo(sym)?.qtyStep : undefined);
}

/** Traded symbols a user's input may mean: the exact one, the perp form of a spot form, or every pair of a bare asset ("BTC"). */
function candidates(input: string, traded: readonly string[]): string[] {
  const u = input.toUpperCase();
  if (traded.includes(u)) return [u];
  if (u.includes('/')) return traded.filter((t) => t.split(':')[0] === u);
  return traded.filter((t) => splitSymbol(t)[0] === u);
}

/**
 * The traded symbol a user meant: an exact match, the perp form ("BTC/USDT:USDT") of the spot form
 * the user typed ("BTC/USDT"), or the one pair of a bare asset ("BTC"). Null when that isn't exactly one.
 */
export function resolveSymbol(input: string, traded: readonly string[]): string | null {
  const c = candidates(input, traded);
  return c.length === 1 ? c[0]! : null;
}

/** The traded symbol a command's argument names, or the reply saying why it names none (symbolProblem). */
export function symbolArg(input: string, traded: readonly string[], usageLine: string): { symbol: string } | { reply: Reply } {
  const symbol = resolveSymbol(input, traded);
  return symbol !== null ? { symbol } : { reply: symbolProblem(input, traded, usageLine) };
}

/** The reply when resolveSymbol found no single symbol. */
export function symbolProblem(input: string, traded: readonly string[], usageLine: string): Reply {
  const c = candidates(input, traded);
  if (c.length > 1) return badArgs(`${input} is traded as ${c.join(' and ')}: say which`, usageLine);
  if (input.includes('/')) return notTraded(input, traded);
  return badArgs(`symbol: "${input}" is not a pair or an asset this bot trades (symbols: ${traded.join(', ') || 'none'})`, usageLine);
}

export const notTraded = (input: string, traded: readonly string[]): Reply => ({
  text: `${input} is not traded by this bot. Symbols: ${traded.join(', ') || 'none'}.`,
  severity: 'warning',
  audit: { outcome: 'invalid', reason: `${input} is not traded` },
});

export { parseDuration } from '../core/format.ts';

/** A reply for arguments that parse but don't make sense together. */
export const badArgs = (why: string, usageLine: string): Reply => ({
  text: `${why}\nUsage: ${usageLine}`,
  severity: 'warning',
  audit: { outcome: 'invalid', reason: why },
});

/** A risk verdict as the trade replies say it: "resized by max_capital_in_use — 0.05 → 0.047 BTC: …". */
export const verdictWords = (d: RiskDecision): string =>
  d.action === 'accept'
    ? `accepted — ${d.reason.replace(/^accepted\s+/, '')}`
    : d.action === 'resize'
      ? `resized by ${d.rule} — ${d.reason.replace(/^resized\s+/, '')}`
      : `rejected by ${d.rule} — ${d.reason.replace(/^rejected:\s*/, '')}`;

/** "ETH/USDT by ada since 2025-05-21 10:00 UTC (candle time); …": the symbols paused on their own, or null. */
export function pausedSymbolsLine(rs: Pick<RiskState, 'pausedSymbols'>, clock: ClockKind): string | null {
  const all = Object.entries(rs.pausedSymbols);
  if (!all.length) return null;
  return all.map(([symbol, p]) => `${symbol} by ${p.by} since ${utc(p.at)}${engineTimeNote(clock)}`).join('; ');
}
