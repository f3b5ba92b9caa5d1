// Opening an ensemble for the bot: read models/ensemble.json, load its members into a ModelSet, build the
// strategy per symbol. (The bot's wiring — feed loop awaiting prepareCandle, alerts from the set's events —
// comes with the kernel builder.)
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Logger } from '../core/logger.ts';
import { ensembleSchema, type EnsembleConfig } from './ensemble.ts';
import { issueLines } from './manifest.ts';
import { ModelError } from './model.ts';
import { ModelSet, type ModelEvent } from './model-set.ts';
import { ModelStrategy } from './strategy.ts';

export const ENSEMBLE_FILE = 'ensemble.json';

/** Reads and validates an ensemble file; a ModelError names the file and the field. */
export function readEnsemble(file: string): EnsembleConfig {
  if (!existsSync(file)) throw new ModelError(file, 'file', 'missing');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelError(file, 'json', `not valid JSON (${(e as Error).message})`);
  }
  const r = ensembleSchema.safeParse(raw);
  if (!r.success) {
    const [first, ...rest] = issueLines(r.error);
    const [field, ...why] = first!.split(': ');
    throw new ModelError(file, field!, `${why.join(': ')}${rest.length > 0 ? ` (and: ${rest.join('; ')})` : ''}`);
  }
  return r.data;
}

export interface OpenedModels {
  set: ModelSet;
  config: EnsembleConfig;
  /** Members that could not be loaded (they do not vote until a good version lands). */
  refused: Array<Extract<ModelEvent, { type: 'refused' }>>;
  /** The strategy for one symbol ('model' when the ensemble has a single member). */
  strategy(symbol: string, timeframeMs: number, params?: { atrStop?: number; atrPeriod?: number }): ModelStrategy;
}

/** Loads every member of `config` (default: `<root>/ensemble.json`). Throws only when none can serve. */
export async function openModels(root: string, config?: EnsembleConfig, logger?: Logger): Promise<OpenedModels> {
  const cfg = config ?? readEnsemble(join(root, ENSEMBLE_FILE));
  const set = new ModelSet(logger);
  const refused: OpenedModels['refused'] = [];
  for (const m of cfg.members) {
    const ev = await set.load(isAbsolute(m.model) || m.model.includes('/') ? m.model : join(root, m.model));
    if (ev?.type === 'refused') refused.push(ev);
  }
  if ([...set.slots.values()].every((s) => s.current === null)) {
    await set.close();
    throw new Error(`no model of the ensemble could be loaded: ${refused.map((r) => r.error).join('; ')}`);
  }
  const members = cfg.members.map((m) => ({ model: m.model.split('/').filter(Boolean).pop()!, weight: m.weight }));
  return {
    set,
    config: cfg,
    refused,
    strategy: (symbol, timeframeMs, params = {}) =>
      new ModelStrategy({
        name: members.length === 1 ? 'model' : 'ensemble',
        symbol,
        set,
        members,
        mode: cfg.mode,
        minConfidence: cfg.minConfidence,
        timeframeMs,
        ...params,
        ...(logger ? { logger } : {}),
      }),
  };
}
