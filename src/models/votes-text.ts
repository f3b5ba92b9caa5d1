// Each member model's vote in one line, for the trade-confirmation prompt.
import type { ModelVote } from '../core/types.ts';

export const votesText = (votes: readonly ModelVote[]): string =>
  votes
    .map(
      (v) =>
        `${v.model} v${v.version}: ${v.error !== undefined ? 'no vote' : `${v.action} ${(v.confidence * 100).toFixed(0)}%`}${v.weight !== 1 ? ` ×${v.weight}` : ''}`,
    )
    .join(', ');
