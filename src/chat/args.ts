import { qty } from '../core/format.ts';
import { QUOTES } from '../core/symbols.ts';
import type { ArgSpec, ArgValue, ParsedArgs } from './types.ts';

/** Longest typed argument (a symbol, a number, an order id, a limit name): longer is refused unread. */
export const MAX_ARG_CHARS = 64;
/** Largest number an argument takes: beyond it a quantity or price is a typo, and floats lose the cents. */
export const MAX_ARG_NUMBER = 1e15;

/** Split a command line into tokens, honouring "double quotes". */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) out.push(m[1] ?? m[2] ?? '');
  return out;
}

const SYMBOL_RE = new RegExp(`^([A-Z0-9]{2,20})[/-]?(${QUOTES.join('|')})$`);

/** "btc/usdt", "BTCUSDT", "btc-usdt" → "BTC/USDT"; a bare asset ("btc") → "BTC", resolved against the traded symbols later. */
export function normalizeSymbol(s: string): string | null {
  const u = s.trim().toUpperCase();
  if (/^[A-Z0-9]{2,20}\/[A-Z0-9]{2,20}(:[A-Z0-9]+)?$/.test(u)) return u;
  const m = SYMBOL_RE.exec(u);
  if (m) return `${m[1]}/${m[2]}`;
  return /^[A-Z0-9]{2,20}$/.test(u) ? u : null;
}

/** A plain decimal number, optionally with an exponent ("0.01", ".5", "1e-3"); no hex, no "Infinity". */
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

type One = { ok: true; value: ArgValue } | { ok: false; error: string };

/** A bound as the replies write numbers ("0", "1,000,000,000,000,000"), never exponent notation. */
const bound = (x: number): string => qty(x);

function parseOne(spec: ArgSpec, token: string): One {
  const ok = (value: ArgValue): One => ({ ok: true, value });
  const err = (why: string): One => ({ ok: false, error: `${spec.name}: ${why}` });
  if (token.length > MAX_ARG_CHARS) return err(`too long (${token.length} characters; at most ${MAX_ARG_CHARS})`);
  switch (spec.type) {
    case 'string':
      return ok(token);
    case 'symbol': {
      const s = normalizeSymbol(token);
      if (s) return ok(s);
      return err(
        NUMBER_RE.test(token)
          ? `"${token}" is a number, not a symbol (e.g. BTC/USDT): see the order below`
          : `"${token}" is not a symbol (e.g. BTC/USDT)`,
      );
    }
    case 'enum': {
      const v = token.toLowerCase();
      return spec.choices?.includes(v) ? ok(v) : err(`expected one of ${spec.choices?.join(', ')}`);
    }
    case 'number':
    case 'int': {
      if (!NUMBER_RE.test(token)) return err(`"${token}" is not a number`);
      const n = Number(token);
      if (!Number.isFinite(n) || Math.abs(n) > MAX_ARG_NUMBER) return err(`must be at most ${bound(MAX_ARG_NUMBER)}`);
      if (spec.type === 'int' && !Number.isInteger(n)) return err(`"${token}" is not a whole number`);
      if (spec.min !== undefined && (spec.minExclusive ? n <= spec.min : n < spec.min))
        return err(spec.minExclusive ? `must be greater than ${bound(spec.min)}` : `must be at least ${bound(spec.min)}`);
      if (spec.max !== undefined && n > spec.max) return err(`must be at most ${bound(spec.max)}`);
      return ok(n);
    }
    case 'amount': {
      const percent = token.endsWith('%');
      const body = percent ? token.slice(0, -1) : token;
      if (!NUMBER_RE.test(body)) return err(`"${token}" is not an amount (e.g. 0.01 or 5%)`);
      const value = Number(body);
      if (!(value > 0)) return err('must be greater than 0');
      if (percent && value > 100) return err('a percentage must be at most 100%');
      if (!Number.isFinite(value) || value > MAX_ARG_NUMBER) return err(`must be at most ${bound(MAX_ARG_NUMBER)}`);
      return ok({ value, percent });
    }
  }
}

export type ParseResult = { ok: true; args: ParsedArgs } | { ok: false; error: string };

/** Validate positional tokens against a command's argument specs. */
export function parseArgs(specs: readonly ArgSpec[], tokens: readonly string[]): ParseResult {
  const args: ParsedArgs = {};
  let i = 0;
  for (const [k, spec] of specs.entries()) {
    if (spec.rest) {
      const rest = tokens.slice(i).join(' ');
      if (!rest && spec.required) return { ok: false, error: `missing ${spec.name}` };
      if (rest) args[spec.name] = rest;
      i = tokens.length;
      continue;
    }
    const tok = tokens[i];
    if (tok === undefined) {
      if (spec.required) return { ok: false, error: `missing ${spec.name}` };
      continue;
    }
    const v = parseOne(spec, tok);
    // An optional argument may be left out before a keyword ("/buy BTC/USDT 0.5 twap 10m": no price).
    if (!v.ok && !spec.required && specs[k + 1]?.choices?.includes(tok.toLowerCase())) continue;
    if (!v.ok) return v;
    args[spec.name] = v.value;
    i++;
  }
  if (i < tokens.length) {
    const extra = tokens.slice(i).join(' ');
    return {
      ok: false,
      error: extra.length <= MAX_ARG_CHARS ? `unexpected "${extra}"` : `unexpected extra arguments (${tokens.length - i})`,
    };
  }
  return { ok: true, args };
}

/**
 * Validate arguments given by name (Discord slash-command options): any order, any subset; each
 * value is checked exactly as the same argument typed as text.
 */
export function parseNamedArgs(specs: readonly ArgSpec[], named: Readonly<Record<string, string>>): ParseResult {
  const args: ParsedArgs = {};
  for (const k of Object.keys(named)) if (!specs.some((s) => s.name === k)) return { ok: false, error: `unexpected option "${k}"` };
  for (const spec of specs) {
    const raw = named[spec.name]?.trim();
    if (!raw) {
      if (spec.required) return { ok: false, error: `missing ${spec.name}` };
      continue;
    }
    if (spec.rest) {
      args[spec.name] = raw;
      continue;
    }
    const v = parseOne(spec, raw);
    if (!v.ok) return v;
    args[spec.name] = v.value;
  }
  return { ok: true, args };
}
