// The grid record kept per symbol in runtime_state: which grid is current and whether it still runs.
// Its level orders are ordinary journal orders with derived client ids (manager.ts).
import { z } from 'zod';
import type { Journal } from '../journal/journal.ts';
import { STATE } from '../journal/state-keys.ts';

export const GRID_STATUSES = ['active', 'stopped', 'cancelled'] as const;

const recordSchema = z.object({
  id: z.string().regex(/^g[0-9a-z]+$/),
  fingerprint: z.string(),
  status: z.enum(GRID_STATUSES),
  reason: z.string().nullable(),
  startedAt: z.number(),
  updatedAt: z.number(),
});

export type GridRecord = z.infer<typeof recordSchema>;

/** The saved grid of `symbol`; null when none (or unreadable: said in `bad`). */
export function readGrid(journal: Journal, symbol: string): { record: GridRecord | null; bad?: string } {
  const raw = STATE.grid(symbol).read(journal);
  if (raw === null) return { record: null };
  const r = recordSchema.safeParse(raw);
  return r.success ? { record: r.data } : { record: null, bad: r.error.issues.map((i) => i.message).join('; ') };
}

export function writeGrid(journal: Journal, symbol: string, g: GridRecord): void {
  STATE.grid(symbol).write(journal, g, g.updatedAt);
}
