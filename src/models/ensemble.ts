// Combining member predictions into one action with a confidence (pure), and the ensemble file's schema.
import { z } from 'zod';
import { ACTIONS, type ModelAction } from './manifest.ts';
import { argmaxAction, type ModelPrediction } from './model.ts';

export const VOTE_MODES = ['vote', 'weighted'] as const;
export type VoteMode = (typeof VOTE_MODES)[number];

/** models/ensemble.json: which model folders vote, how, and the weights. */
export const ensembleSchema = z
  .object({
    schemaVersion: z.literal(1),
    mode: z.enum(VOTE_MODES).default('weighted'),
    /** No entry below this confidence (exits are never gated). */
    minConfidence: z.number().min(0).max(1).default(0.5),
    members: z
      .array(
        z
          .object({
            /** Folder name under models/ (or a path). */
            model: z.string().min(1),
            weight: z.number().min(0).default(1),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();
export type EnsembleConfig = z.output<typeof ensembleSchema>;

export interface MemberVote {
  weight: number;
  prediction: ModelPrediction;
}

export interface Combined {
  action: ModelAction;
  /** In [0, 1]. */
  confidence: number;
  /** Weighted mean distribution over [sell, hold, buy]. */
  dist: [number, number, number];
  /** Share of the (weighted) members whose own action is the chosen one. */
  agreement: number;
}

const HOLD: Combined = { action: 'hold', confidence: 0, dist: [0, 1, 0], agreement: 0 };

/**
 * vote: each member's action counts its weight (1 each by default); the action with strictly the most wins,
 * a tie is a hold; confidence = mean confidence of the members that chose it × their share.
 * weighted: the members' distributions are averaged with their weights; the most probable action wins (a tie
 * is a hold); confidence = that action's averaged probability × the (weighted) share of members choosing it.
 * Members with weight 0 or no prediction (failed, not loaded) do not count.
 */
export function combine(votes: readonly MemberVote[], mode: VoteMode): Combined {
  let total = 0;
  const tally = [0, 0, 0];
  const dist: [number, number, number] = [0, 0, 0];
  for (const v of votes) {
    if (!(v.weight > 0)) continue;
    total += v.weight;
    tally[ACTIONS.indexOf(v.prediction.action)]! += v.weight;
    for (let k = 0; k < 3; k++) dist[k]! += v.weight * v.prediction.dist[k]!;
  }
  if (total === 0) return HOLD;
  for (let k = 0; k < 3; k++) dist[k]! /= total;
  const action = mode === 'vote' ? argmaxAction(tally) : argmaxAction(dist);
  const k = ACTIONS.indexOf(action);
  const agreement = tally[k]! / total;
  let confidence: number;
  if (mode === 'vote') {
    let sum = 0;
    for (const v of votes) if (v.weight > 0 && v.prediction.action === action) sum += v.weight * v.prediction.confidence;
    confidence = tally[k]! > 0 ? (sum / tally[k]!) * agreement : 0;
  } else {
    confidence = dist[k]! * agreement;
  }
  return { action, confidence: Math.min(1, Math.max(0, confidence)), dist, agreement };
}
