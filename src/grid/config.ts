import { z } from 'zod';
import { GRID_SPACINGS, gridLevels, type GridSpacing } from './levels.ts';
import { plainIssue } from '../core/zod-words.ts';

/** Bounds of a grid, defined once: the config check and the grid itself use them. */
export const GRID_LIMITS = { minLevels: 2, maxLevels: 200 } as const;

/**
 * `strategy: { name: grid, params: { lower, upper, levels, spacing, qtyPerLevel | quotePerLevel, stopBelow?, stopAbove? } }`.
 * `spacing` may be written inside params (the config schema lifts it to `strategy.spacing`).
 */
export const gridParamsSchema = z
  .object({
    lower: z.number().positive(),
    upper: z.number().positive(),
    levels: z.number().int().min(GRID_LIMITS.minLevels).max(GRID_LIMITS.maxLevels),
    spacing: z.enum(GRID_SPACINGS).default('arithmetic'),
    /** Base quantity of each level's order… */
    qtyPerLevel: z.number().positive().optional(),
    /** …or its value in quote (qty = quotePerLevel / level price). */
    quotePerLevel: z.number().positive().optional(),
    /** A candle trading at or below this stops the grid out: orders cancelled, position closed. */
    stopBelow: z.number().positive().optional(),
    /** A candle trading at or above this stops the grid out. */
    stopAbove: z.number().positive().optional(),
  })
  .strict();

/**
 * The checks between keys, on the raw parameters: they run even when a key is wrong on its own (a
 * refinement in the schema would not, zod skips it after such an issue), so all of a grid's problems
 * come at once. Each compares only values that are numbers.
 */
function crossProblems(p: Record<string, unknown>): string[] {
  const out: string[] = [];
  const bad = (key: string, message: string) => out.push(`strategy.params.${key}: ${message}`);
  const n = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const [lower, upper, below, above] = [n(p.lower), n(p.upper), n(p.stopBelow), n(p.stopAbove)];
  if (lower !== undefined && upper !== undefined && !(upper > lower)) bad('upper', `must be above lower (${lower})`);
  if ((p.qtyPerLevel === undefined) === (p.quotePerLevel === undefined))
    bad('qtyPerLevel', 'give exactly one of qtyPerLevel and quotePerLevel');
  if (below !== undefined && lower !== undefined && !(below < lower)) bad('stopBelow', `must be below lower (${lower})`);
  if (above !== undefined && upper !== undefined && !(above > upper)) bad('stopAbove', `must be above upper (${upper})`);
  return out;
}

export type GridParams = z.output<typeof gridParamsSchema>;

/** A grid config's problems, each "strategy.params.<key>: what is wrong" (the config check lists them all). */
export class GridParamsError extends Error {
  constructor(readonly problems: string[]) {
    super(`grid: ${problems.join('; ')}`);
    this.name = 'GridParamsError';
  }
}

const GRID_KEYS = Object.keys(gridParamsSchema.shape);

/** One zod issue of the grid's parameters (worded by plainIssue, as the config's are), keyed. */
function gridIssue(i: z.core.$ZodIssue): string[] {
  if (i.code === 'unrecognized_keys')
    return i.keys.map((k) => `strategy.params.${k}: unknown grid parameter; accepted parameters: ${GRID_KEYS.join(', ')}`);
  return [`strategy.params.${i.path.map(String).join('.')}: ${i.message}`];
}

/** The grid of a config's strategy section; throws a GridParamsError naming every key that is wrong. */
export function gridParamsOf(strategy: { params: Record<string, number>; spacing?: GridSpacing | undefined }, tick = 0): GridParams {
  const { timeframeMs: _tf, ...params } = strategy.params;
  const raw = { ...params, ...(strategy.spacing !== undefined ? { spacing: strategy.spacing } : {}) };
  const r = gridParamsSchema.safeParse(raw, { error: plainIssue });
  const problems = [...(r.success ? [] : r.error.issues.flatMap(gridIssue)), ...crossProblems(raw)];
  if (!r.success || problems.length) throw new GridParamsError(problems);
  gridLevels(r.data.lower, r.data.upper, r.data.levels, r.data.spacing, tick); // throws when the levels collide
  return r.data;
}

/** A grid's identity: a config change makes a new grid (the old one's orders are cancelled). */
export const gridFingerprint = (symbol: string, p: GridParams): string =>
  JSON.stringify([symbol, p.lower, p.upper, p.levels, p.spacing, p.qtyPerLevel ?? null, p.quotePerLevel ?? null]);
