// The risk limits, defined once: name, type, bounds, unit and meaning of each. The config file's
// `risk` section (zod), `/risk set` (parsing, validation), `/risk` (display) and `/risk help` are all
// derived from this table, so a value one accepts the other accepts too.
import { z } from 'zod';
import { decimal, duration, parseDuration, percent } from '../core/format.ts';
import { DEFAULT_LIMITS, type ConfidenceSizing, type DrawdownAction, type RiskLimits, type SizingMode } from './types.ts';

/** What a limit's number means, for parsing ("2%") and display. */
export type LimitUnit = 'fraction' | 'seconds' | 'count' | 'quote' | 'multiple' | 'bars';

export type LimitDef =
  | {
      kind: 'enum';
      values:
        | readonly [SizingMode, ...SizingMode[]]
        | readonly [DrawdownAction, ...DrawdownAction[]]
        | readonly [ConfidenceSizing, ...ConfidenceSizing[]];
      description: string;
    }
  | {
      kind: 'number';
      unit: LimitUnit;
      min: number;
      max: number;
      /** min itself is not allowed. */
      minExclusive?: boolean;
      int?: boolean;
      /** null ("off") is allowed: the limit doesn't apply. */
      nullable?: boolean;
      /** 0 means the rule is off. */
      zeroOff?: boolean;
      /** A noun phrase: "<description> must be between …". */
      description: string;
    };

/** Entry timestamps the risk engine keeps: maxTradesPer24h can't count beyond them. */
export const MAX_RECENT_ENTRIES = 10_000;

export const RISK_LIMITS: { readonly [K in keyof RiskLimits]: LimitDef } = {
  sizing: {
    kind: 'enum',
    values: ['risk', 'all-in', 'fixed', 'volatility'],
    description: 'entry sizing (risk: from the stop distance; fixed: fixedQuote per trade; volatility: from recent volatility)',
  },
  fixedQuote: {
    kind: 'number',
    unit: 'quote',
    min: 0,
    minExclusive: true,
    max: 1e9,
    description: 'quote amount per trade in fixed sizing',
  },
  riskPerTrade: { kind: 'number', unit: 'fraction', min: 0.01, max: 0.03, description: 'max loss per trade' },
  // A stop closer than 0.1% sits within a tick or two of the entry: it fills on noise, or at the entry.
  stopLossPct: {
    kind: 'number',
    unit: 'fraction',
    min: 0.001,
    max: 0.5,
    nullable: true,
    description: 'default stop distance (when a signal has none)',
  },
  takeProfitPct: { kind: 'number', unit: 'fraction', min: 0.001, max: 5, nullable: true, description: 'take-profit distance' },
  maxDailyDrawdown: {
    kind: 'number',
    unit: 'fraction',
    min: 0,
    max: 1,
    zeroOff: true,
    description: 'daily drawdown that halts entries until the next UTC day',
  },
  maxCapitalInUse: { kind: 'number', unit: 'fraction', min: 0, max: 1, description: 'share of equity in positions' },
  maxOpenPositions: { kind: 'number', unit: 'count', min: 1, max: 1000, int: true, description: 'open positions at once' },
  minTradeIntervalSec: { kind: 'number', unit: 'seconds', min: 0, max: 7 * 86_400, description: 'time between two entries' },
  cooldownAfterLossSec: {
    kind: 'number',
    unit: 'seconds',
    min: 0,
    max: 7 * 86_400,
    zeroOff: true,
    description: 'time without entries on a symbol after a trade on it closed at a loss',
  },
  // The risk engine remembers this many entry times: a higher limit could not be counted.
  maxTradesPer24h: { kind: 'number', unit: 'count', min: 1, max: MAX_RECENT_ENTRIES, int: true, description: 'entries per 24 h' },
  // A stdev of 1-bar returns above 100% is not a market; "off" is the way to not check.
  maxVolatility: {
    kind: 'number',
    unit: 'fraction',
    min: 0,
    minExclusive: true,
    max: 1,
    nullable: true,
    description: 'volatility (stdev of 1-bar returns) above which entries are refused',
  },
  volatilityWindow: { kind: 'number', unit: 'bars', min: 2, max: 10_000, int: true, description: 'bars in the volatility estimate' },
  maxLeverage: { kind: 'number', unit: 'multiple', min: 1, max: 125, description: 'perp leverage' },
  maxConsecutiveLosses: {
    kind: 'number',
    unit: 'count',
    min: 0,
    max: 1000,
    int: true,
    zeroOff: true,
    description: 'losing trades in a row that trip the breaker',
  },
  maxConsecutiveErrors: {
    kind: 'number',
    unit: 'count',
    min: 0,
    max: 1000,
    int: true,
    zeroOff: true,
    description: 'order errors in a row that trip the breaker',
  },
  volatilityMultiple: {
    kind: 'number',
    unit: 'multiple',
    min: 0.1,
    max: 100,
    description: 'typical 1-bar moves the risk per trade covers in volatility sizing',
  },
  trailingStopPct: {
    kind: 'number',
    unit: 'fraction',
    min: 0.001,
    max: 0.5,
    nullable: true,
    description: 'trailing stop distance from the best price since entry',
  },
  trailingActivationPct: {
    kind: 'number',
    unit: 'fraction',
    min: 0,
    max: 1,
    description: 'favourable move from the entry before the trailing stop starts',
  },
  maxHoldMinutes: {
    kind: 'number',
    unit: 'count',
    min: 1,
    max: 525_600,
    int: true,
    nullable: true,
    description: 'minutes a position may stay open before it is closed at market',
  },
  maxDrawdown: {
    kind: 'number',
    unit: 'fraction',
    min: 0,
    max: 1,
    zeroOff: true,
    description: 'drawdown from the equity peak that trips the kill switch (admin /resume re-arms)',
  },
  onMaxDrawdown: {
    kind: 'enum',
    values: ['halt', 'flatten'],
    description: 'what the kill switch does (halt: no entries; flatten: also close every position)',
  },
  confidenceSizing: {
    kind: 'enum',
    values: ['off', 'linear'],
    description: 'entry size by model confidence (linear: × confidenceFloor + (1 − confidenceFloor) × confidence, before the other limits)',
  },
  confidenceFloor: {
    kind: 'number',
    unit: 'fraction',
    min: 0,
    max: 1,
    description: 'share of the size kept at confidence 0 in confidence sizing',
  },
  pyramidMaxAdds: {
    kind: 'number',
    unit: 'count',
    min: 0,
    max: 20,
    int: true,
    zeroOff: true,
    description: 'adds to an open trade (pyramiding; config risk.pyramiding.maxAdds)',
  },
  // Below 0.1% an add would chase noise: one tick up and the bot buys again.
  pyramidMinStepPct: {
    kind: 'number',
    unit: 'fraction',
    min: 0.001,
    max: 1,
    description: 'favourable move since the last add before the next (risk.pyramiding.minStepPct)',
  },
  pyramidSizeFactor: {
    kind: 'number',
    unit: 'multiple',
    min: 0.01,
    max: 2,
    description: "a strategy add's size relative to the previous add (risk.pyramiding.sizeFactor)",
  },
};

/** `risk.pyramiding: { maxAdds, minStepPct, sizeFactor }` in a config file is the table's three pyramid* limits. */
const PYRAMIDING = { maxAdds: 'pyramidMaxAdds', minStepPct: 'pyramidMinStepPct', sizeFactor: 'pyramidSizeFactor' } as const;

function unnestPyramiding(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || !('pyramiding' in raw)) return raw;
  const { pyramiding, ...rest } = raw as Record<string, unknown>;
  if (pyramiding === null || typeof pyramiding !== 'object') return raw; // the strict schema names it
  const out: Record<string, unknown> = { ...rest };
  for (const [k, v] of Object.entries(pyramiding)) {
    const flat = (PYRAMIDING as Record<string, string>)[k];
    if (flat === undefined) return raw; // an unknown sub-key: refused by the strict schema below
    out[flat] = v;
  }
  return out;
}

/** The limits in a stable order. */
export const LIMIT_KEYS = Object.keys(RISK_LIMITS) as readonly (keyof RiskLimits)[];

/** A case-insensitive limit name → its key. */
export const limitKey = (name: string): keyof RiskLimits | undefined => LIMIT_KEYS.find((k) => k.toLowerCase() === name.toLowerCase());

/** A limit's value as a trader reads it: "2%", "1 min", "off". */
export function showLimit(key: keyof RiskLimits, v: unknown): string {
  if (v === null || v === undefined) return 'off';
  const def = RISK_LIMITS[key];
  if (def.kind === 'number' && def.zeroOff && v === 0) return 'off';
  return showValue(key, v);
}

/** A limit's number in its unit, 0 included ("0%": a bound, not a setting). */
function showValue(key: keyof RiskLimits, v: unknown): string {
  const def = RISK_LIMITS[key];
  if (def.kind === 'enum' || typeof v !== 'number') return String(v);
  if (def.unit === 'fraction') return percent(v, 4);
  if (def.unit === 'seconds') return duration(v * 1000);
  if (def.unit === 'multiple') return `${decimal(v, 2)}×`;
  return decimal(v, 8);
}

/** The allowed values in words: "between 1% and 3%", "a whole number between 0 and 1000 (0 = off)". */
export function allowedWords(key: keyof RiskLimits): string {
  const def = RISK_LIMITS[key];
  if (def.kind === 'enum') return `one of ${def.values.join(', ')}`;
  const lo = showValue(key, def.min);
  const range = def.minExclusive ? `above ${lo} and at most ${showValue(key, def.max)}` : `between ${lo} and ${showValue(key, def.max)}`;
  return `${def.int ? 'a whole number ' : ''}${range}${def.nullable ? ', or off' : ''}${def.zeroOff ? ' (0 = off)' : ''}`;
}

/** One line of `/risk help`. */
export const limitHelp = (key: keyof RiskLimits): string => `${key}: ${RISK_LIMITS[key].description}; ${allowedWords(key)}`;

/** The bounds as a sentence about a rejected number (`/risk set`). */
function outOfRange(key: keyof RiskLimits, x: number): string {
  const def = RISK_LIMITS[key];
  if (def.kind === 'enum') return `${key} must be ${allowedWords(key)}`;
  const lo = def.minExclusive ? `above ${decimal(def.min, 12)}` : `at least ${decimal(def.min, 12)}`;
  const unit =
    def.unit === 'fraction'
      ? ` (${percent(def.min)}–${percent(def.max)})`
      : def.unit === 'seconds'
        ? ` s (${showLimit(key, def.max)})`
        : '';
  return `${key} must be ${lo} and at most ${decimal(def.max, 12)}${unit}, got ${decimal(x, 12)}`;
}

const OFF = new Set(['off', 'none', 'null']);

/**
 * Text as a limit's value, the same way in the config file and in chat: "2%" is 0.02 for a
 * fraction, "30m" is 1800 for seconds, "off" is null where the limit can be off (0 where 0 is off), "1e-3" is a number. Anything else stays as it
 * is (and fails the schema).
 */
function fromText(key: keyof RiskLimits, raw: unknown): unknown {
  const def = RISK_LIMITS[key];
  if (typeof raw !== 'string') return raw;
  const t = raw.trim().toLowerCase();
  if (def.kind === 'enum') return t;
  if (def.nullable && OFF.has(t)) return null;
  if (def.zeroOff && OFF.has(t)) return 0; // shown as "off": typed back the same way
  if (def.unit === 'seconds') {
    const ms = parseDuration(t); // "30m", "2h": the way /risk shows it
    if (ms !== null) return ms / 1000;
  }
  const pct = def.unit === 'fraction' && t.endsWith('%');
  const body = pct ? t.slice(0, -1).trim() : t;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(body)) return raw;
  return pct ? Number(body) / 100 : Number(body);
}

/** The zod schema of one limit's value, bounds from the table (without its default). */
function boundsSchema(key: keyof RiskLimits): z.ZodType<unknown> {
  const def = RISK_LIMITS[key];
  const got = (input: unknown) =>
    typeof input === 'number' && Number.isFinite(input)
      ? `; got ${showValue(key, input)}`
      : typeof input === 'string'
        ? `; got "${input.length > 40 ? `${input.slice(0, 40)}…` : input}"`
        : '';
  const error = (iss: { input?: unknown }) => `${def.description} must be ${allowedWords(key)}${got(iss.input)}`;
  if (def.kind === 'enum') return z.enum(def.values, { error });
  let n = z.number({ error });
  n = def.minExclusive ? n.gt(def.min, { error }) : n.min(def.min, { error });
  n = n.max(def.max, { error });
  if (def.int) n = n.int({ error });
  return def.nullable ? n.nullable() : n;
}

const SCHEMAS = Object.fromEntries(LIMIT_KEYS.map((k) => [k, z.preprocess((v) => fromText(k, v), boundsSchema(k))])) as unknown as Record<
  keyof RiskLimits,
  z.ZodType<unknown>
>;

type RiskShape = { [K in keyof RiskLimits]: z.ZodDefault<z.ZodType<RiskLimits[K], RiskLimits[K] | string>> };

/** The config file's `risk` section, from the table (every key has its default). */
const riskObject = z
  .object(Object.fromEntries(LIMIT_KEYS.map((k) => [k, SCHEMAS[k].default(DEFAULT_LIMITS[k])])) as unknown as RiskShape)
  .strict();
type PyramidingInput = { pyramiding?: { maxAdds?: number | string; minStepPct?: number | string; sizeFactor?: number | string } };
export const riskConfigSchema = z.preprocess(unnestPyramiding, riskObject) as unknown as z.ZodType<
  z.output<typeof riskObject>,
  z.input<typeof riskObject> & PyramidingInput
>;

export type ParsedLimit = { ok: true; value: RiskLimits[keyof RiskLimits] } | { ok: false; error: string };

/** A limit's new value from chat text (or a journaled number), through the config file's schema. */
export function parseLimit(key: keyof RiskLimits, raw: unknown): ParsedLimit {
  const def = RISK_LIMITS[key];
  const r = SCHEMAS[key].safeParse(raw);
  if (r.success) return { ok: true, value: r.data as RiskLimits[keyof RiskLimits] };
  if (def.kind === 'enum') return { ok: false, error: outOfRange(key, NaN) };
  const x = fromText(key, raw);
  if (typeof x !== 'number' || !Number.isFinite(x))
    return {
      ok: false,
      error: `${key} expects a number${def.unit === 'fraction' ? ' or a percent like 2%' : def.unit === 'seconds' ? ' of seconds or a duration like 30m' : ''}${def.nullable ? ' or off' : ''}`,
    };
  if (def.int && !Number.isInteger(x)) return { ok: false, error: `${key} must be a whole number (got ${decimal(x, 12)})` };
  return { ok: false, error: outOfRange(key, x) };
}
