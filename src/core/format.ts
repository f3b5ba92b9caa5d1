// Numbers as a trader reads them, defined once: money with its currency, prices in the market's
// tick, quantities in the market's lot step, percentages, durations and UTC times. Every chat reply,
// alert and risk verdict formats through here. Nothing ever prints exponent notation ("1e-9"),
// "Infinity", "NaN" or "-0".
import { decimalsOf } from './num.ts';

/** Shown for a number that isn't one (NaN, ±Infinity). */
export const NO_VALUE = '—';

/** Fixed decimals with trailing zeros trimmed; plain digits at any magnitude. */
export function decimal(x: number, maxDecimals: number): string {
  if (!Number.isFinite(x)) return NO_VALUE;
  let s = fixed(x, maxDecimals);
  if (s.includes('.')) s = trimZeros(s);
  return s === '-0' ? '0' : s;
}

/** "1.2300" → "1.23", "5.000" → "5" (s has a decimal point). A loop, not a regex: signals format prices. */
function trimZeros(s: string): string {
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--; // '0'
  if (s.charCodeAt(end - 1) === 46) end--; // '.'
  return end === s.length ? s : s.slice(0, end);
}

/** toFixed without its exponent form above 1e21 and its RangeError above 100 decimals. */
function fixed(x: number, decimals: number): string {
  if (!Number.isFinite(x)) return NO_VALUE;
  if (Math.abs(x) >= 1e21) return BigInt(Math.round(x)).toString(); // floats this large are integers
  const s = x.toFixed(Math.min(100, Math.max(0, Math.trunc(decimals))));
  return s.charCodeAt(0) === 45 && s.charCodeAt(1) === 48 && /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** `digits` significant digits for a small non-zero number (0.0000012345 → "0.000001235" at 4). */
function significant(x: number, digits: number): string {
  const a = Math.abs(x);
  if (a === 0 || !Number.isFinite(a)) return decimal(x, 0);
  const d = digits - 1 - Math.floor(Math.log10(a));
  if (d > 100) return '≈0';
  return decimal(x, Math.max(0, d));
}

/** 1234567.5 → "1,234,567.5". */
function grouped(s: string): string {
  // A loop, not the two regexes it replaced: the profile of a backtest showed them on every signal.
  const from = s.charCodeAt(0) === 45 ? 1 : 0; // '-'
  let to = from;
  while (to < s.length && s.charCodeAt(to) >= 48 && s.charCodeAt(to) <= 57) to++;
  if (to - from <= 3) return s;
  let out = s.slice(0, from + ((to - from) % 3 || 3));
  for (let i = out.length; i < to; i += 3) out += ',' + s.slice(i, i + 3);
  return out + s.slice(to);
}

const withUnit = (s: string, unit: string | undefined): string => (unit && s !== NO_VALUE ? `${s} ${unit}` : s);

/**
 * Below this an amount is the float noise of a difference (equity minus equity: -1.8e-12), not money:
 * a tenth of the smallest unit any venue keeps (1e-8, a satoshi).
 */
const MONEY_NOISE = 1e-9;

/**
 * Money: 2 decimals with thousands separators and the currency ("9,798.08 USDT"). An amount under
 * half a cent keeps 2 significant digits ("0.0042 USDT"), so a real fee never reads as 0.00.
 */
export function money(x: number, ccy = 'USDT'): string {
  if (!Number.isFinite(x)) return NO_VALUE;
  const a = Math.abs(x);
  if (a < MONEY_NOISE) return withUnit('0.00', ccy);
  return withUnit(a < 0.005 ? significant(x, 2) : grouped(fixed(x, 2)), ccy);
}

/** Money with an explicit sign for gains: "+12.30 USDT", "-5.00 USDT". */
export const signedMoney = (x: number, ccy = 'USDT'): string => `${x >= MONEY_NOISE ? '+' : ''}${money(x, ccy)}`;

/**
 * A price: in the market's tick when known ("105,879.70" for a 0.01 tick), else 2 decimals from
 * 1,000, 4 from 1 and up to 8 below.
 */
export function price(x: number, tick?: number): string {
  if (!Number.isFinite(x)) return NO_VALUE;
  if (tick !== undefined && tick > 0) return grouped(fixed(x, decimalsOf(tick)));
  const a = Math.abs(x);
  const s = decimal(x, a >= 1000 ? 2 : a >= 1 ? 4 : 8);
  return grouped(s === '0' && x !== 0 ? significant(x, 4) : s);
}

/**
 * A quantity: in the market's lot step when known (trailing zeros trimmed: "0.005"), else up to 8
 * decimals. A non-zero quantity below the step keeps its significant digits ("0.000000001").
 */
export function qty(x: number, step?: number): string {
  if (!Number.isFinite(x)) return NO_VALUE;
  const s = decimal(x, step !== undefined && step > 0 ? decimalsOf(step) : 8);
  return grouped(s === '0' && x !== 0 ? significant(x, 4) : s);
}

/** A bare number in messages that have no market at hand (venue checks): like qty, without separators. */
export function plain(x: number): string {
  if (!Number.isFinite(x)) return NO_VALUE;
  const s = decimal(x, 8);
  return s === '0' && x !== 0 ? significant(x, 4) : s;
}

/** An amount of some asset (a fee): money in the quote currency, else up to 8 decimals (fees are finer than the lot step). */
export function assetAmount(x: number, ccy: string, market?: { quote: string }): string {
  return !market || ccy === market.quote ? money(x, ccy) : withUnit(plain(x), ccy);
}

/** Price and quantity formatters bound to one market's tick and lot step (both optional). */
export function forMarket(m: { priceStep?: number; qtyStep?: number } | undefined): {
  price: (x: number) => string;
  qty: (x: number) => string;
} {
  return { price: (x) => price(x, m?.priceStep), qty: (x) => qty(x, m?.qtyStep) };
}

/**
 * A fraction as a percent, unsigned: 0.052 → "5.2%", 0.62 → "62%". `digits` caps the decimals of
 * the percent (default: 2 below 10%, 1 above); a non-zero value never reads as "0%", nor a value short
 * of the whole as "100%".
 */
export function percent(frac: number, digits?: number): string {
  if (!Number.isFinite(frac)) return NO_VALUE;
  const v = frac * 100;
  const s = decimal(v, digits ?? (Math.abs(v) >= 10 ? 1 : 2));
  if (s === '0' && v !== 0) return `${significant(v, 2)}%`;
  // Nor does a value short of the whole read as "100%" (a stop at 1.00 under 29,717 is 99.99% below).
  if (Math.abs(Number(s)) === 100 && Math.abs(v) < 100) return `${Math.sign(v) * (Math.floor(Math.abs(v) * 100) / 100)}%`;
  return `${grouped(s)}%`;
}

/** A change as a signed percent with fixed decimals: "+1.23%", "-0.50%", "0.00%". */
export function pct(frac: number, digits = 2): string {
  if (!Number.isFinite(frac)) return NO_VALUE;
  const s = fixed(frac * 100, digits);
  if (s === NO_VALUE) return s;
  return `${frac > 0 && !/^0\.?0*$/.test(s) ? '+' : ''}${grouped(s)}%`;
}

/** "1 order", "3 orders", "0 open positions": a count with its noun in the right number (every noun here takes -s). */
export const counted = (n: number, noun: string): string => `${decimal(n, 0)} ${noun}${n === 1 ? '' : 's'}`;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "2h", "1d", "1.5h" → ms; null when it isn't a duration (duration() writes them). */
export function parseDuration(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d)$/i.exec(s.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()[0]!]!;
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : null;
}

/** A duration, rounded up to the second: "40 s", "1 min 30 s", "2 h 5 min", "3 d 4 h". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return NO_VALUE;
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  const two = (a: number, ua: string, b: number, ub: string): string => `${decimal(a, 0)} ${ua}${b ? ` ${b} ${ub}` : ''}`;
  if (s < 3600) return two(Math.floor(s / 60), 'min', s % 60, 's');
  if (s < 86_400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'min');
  return two(Math.floor(s / 86_400), 'd', Math.floor((s % 86_400) / 3600), 'h');
}

/** "2026-11-22 00:00 UTC". */
export const utc = (ts: number): string =>
  Number.isFinite(ts) && Math.abs(ts) <= 8.64e15 ? new Date(ts).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : NO_VALUE;

/** The URL's host only: dead-man URLs carry their secret in the path. */
export function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}
