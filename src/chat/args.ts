import type { ArgSpec, ArgValue, ParsedArgs } from './types.ts';

/** Split a command line into tokens, honouring "double quotes". */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) out.push(m[1] ?? m[2] ?? '');
  return out;
}

const SYMBOL_RE = /^([A-Z0-9]{2,20})[/-]?(USDT|USDC|BUSD|BTC|ETH|EUR|USD)$/;

/** "btc/usdt", "BTCUSDT", "btc-usdt" → "BTC/USDT". */
export function normalizeSymbol(s: string): string | null {
  const u = s.trim().toUpperCase();
  if (/^[A-Z0-9]{2,20}\/[A-Z0-9]{2,20}(:[A-Z0-9]+)?$/.test(u)) return u;
  const m = SYMBOL_RE.exec(u);
  return m ? `${m[1]}/${m[2]}` : null;
}

type One = { ok: true; value: ArgValue } | { ok: false; error: string };

function parseOne(spec: ArgSpec, token: string): One {
  const ok = (value: ArgValue): One => ({ ok: true, value });
  const err = (why: string): One => ({ ok: false, error: `${spec.name}: ${why}` });
  switch (spec.type) {
    case 'string':
      return ok(token);
    case 'symbol': {
      const s = normalizeSymbol(token);
      return s ? ok(s) : err(`"${token}" is not a symbol (e.g. BTC/USDT)`);
    }
    case 'enum': {
      const v = token.toLowerCase();
      return spec.choices?.includes(v) ? ok(v) : err(`expected one of ${spec.choices?.join(', ')}`);
    }
    case 'number':
    case 'int': {
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(token)) return err(`"${token}" is not a number`);
      const n = Number(token);
      if (!Number.isFinite(n)) return err(`"${token}" is not a number`);
      if (spec.type === 'int' && !Number.isInteger(n)) return err(`"${token}" is not a whole number`);
      if (spec.min !== undefined && n < spec.min) return err(`must be at least ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) return err(`must be at most ${spec.max}`);
      return ok(n);
    }
    case 'amount': {
      const m = /^(\d+(\.\d*)?|\.\d+)(%?)$/.exec(token);
      if (!m) return err(`"${token}" is not an amount (e.g. 0.01 or 5%)`);
      const value = Number(m[1]);
      const percent = m[3] === '%';
      if (!(value > 0)) return err('must be greater than 0');
      if (percent && value > 100) return err('a percentage must be at most 100%');
      return ok({ value, percent });
    }
  }
}

export type ParseResult = { ok: true; args: ParsedArgs } | { ok: false; error: string };

/** Validate positional tokens against a command's argument specs. */
export function parseArgs(specs: readonly ArgSpec[], tokens: readonly string[]): ParseResult {
  const args: ParsedArgs = {};
  let i = 0;
  for (const spec of specs) {
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
    if (!v.ok) return v;
    args[spec.name] = v.value;
    i++;
  }
  if (i < tokens.length) return { ok: false, error: `unexpected "${tokens.slice(i).join(' ')}"` };
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
