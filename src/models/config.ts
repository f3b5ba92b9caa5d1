// The `models` config section (run-time policy for model strategies), beside the strategy keys in the schema.
import { z } from 'zod';
import type { Timeframe } from '../core/types.ts';
import type { VoteMode } from './ensemble.ts';

export const modelsConfigSchema = z
  .object({
    /** Where model folders and ensemble.json live. */
    dir: z.string().min(1).default('models'),
    /** Hot reload: swap in new versions that land in a model folder. */
    watch: z.boolean().default(true),
    /** Alert when a model version's live hit rate falls below this (null: no floor). */
    minHitRate: z.number().min(0).max(1).nullable().default(null),
    /** Scored directional predictions needed before the floor applies. */
    minPredictions: z.number().int().min(1).default(200),
    /** Take a model below the floor out of the ensemble (else only alert). */
    disableBelowFloor: z.boolean().default(false),
  })
  .strict();
export type ModelsConfig = z.output<typeof modelsConfigSchema>;

/** The part of the bot's config a model runtime reads (src/config/schema.ts's Config satisfies it). */
export interface ModelRunConfig {
  strategy: {
    name: string;
    params: Record<string, number>;
    model?: string;
    models?: string[];
    ensemble?: string;
    vote?: VoteMode;
    minConfidence?: number;
  };
  models: ModelsConfig;
  market: { timeframe: Timeframe };
}
