import { z } from 'zod';

export const ALGOS = ['twap', 'iceberg'] as const;
export type Algo = (typeof ALGOS)[number];

/** Bounds of a parent order, defined once: the config schema and the /buy arguments both use them. */
export const ALGO_LIMITS = { minSlices: 2, maxSlices: 100, minIntervalSec: 1, maxDurationSec: 7 * 86_400, maxOffsetBps: 500 } as const;

/** `execution`: how large orders are split (TWAP slices on a schedule, or iceberg clips). */
export const executionConfigSchema = z
  .object({
    /** Applied to /buy and /sell orders above `aboveNotional` that name no algo themselves. */
    algo: z.enum(['none', ...ALGOS]).default('none'),
    aboveNotional: z.number().min(0).default(10_000),
    /** Split the strategy's entries above `aboveNotional` with `algo` too (exits always go out whole). */
    signals: z.boolean().default(false),
    slices: z.number().int().min(ALGO_LIMITS.minSlices).max(ALGO_LIMITS.maxSlices).default(5),
    intervalSec: z.number().min(ALGO_LIMITS.minIntervalSec).max(ALGO_LIMITS.maxDurationSec).default(60),
    /** Iceberg clip size in base units; 0: total / slices. */
    visibleQty: z.number().min(0).default(0),
    /** Iceberg clips are limit orders this far inside the last price (0: at the last price). */
    limitOffsetBps: z.number().min(0).max(ALGO_LIMITS.maxOffsetBps).default(0),
  })
  .strict();

export type ExecutionConfig = z.infer<typeof executionConfigSchema>;
