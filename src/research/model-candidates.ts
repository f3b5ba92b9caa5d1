// Models as `skipper select` candidates: model folders (models/<name>/manifest.json) found in
// --candidates, and the ensemble file written from the ones that pass the rules (model-select.ts runs them).
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensembleSchema, type EnsembleConfig, type VoteMode } from '../models/ensemble.ts';
import { MANIFEST_FILE } from '../models/manifest.ts';

/** Sub-folders of `dir` with a manifest.json (and `dir` itself when it is one), sorted by name. */
export function modelFolders(dir: string): string[] {
  if (existsSync(join(dir, MANIFEST_FILE))) return [dir];
  return readdirSync(dir)
    .filter((f) => statSync(join(dir, f)).isDirectory() && existsSync(join(dir, f, MANIFEST_FILE)))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * The ensemble file for the models that passed: each weighted by its share of the passing models'
 * (positive) objective, equal weights when none is positive. Validated by the ensemble schema.
 */
export function ensembleOf(
  passing: ReadonlyArray<{ model: string; objective: number }>,
  opts: { mode?: VoteMode; minConfidence?: number } = {},
): EnsembleConfig {
  if (passing.length === 0) throw new Error('no model passes every rule: no ensemble to write');
  const pos = passing.map((p) => (Number.isFinite(p.objective) && p.objective > 0 ? p.objective : 0));
  const sum = pos.reduce((a, b) => a + b, 0);
  return ensembleSchema.parse({
    schemaVersion: 1,
    mode: opts.mode ?? 'weighted',
    minConfidence: opts.minConfidence ?? 0.5,
    members: passing.map((p, i) => ({
      model: p.model,
      weight: sum > 0 ? Number((pos[i]! / sum).toFixed(4)) : Number((1 / passing.length).toFixed(4)),
    })),
  });
}

export function writeEnsemble(file: string, e: EnsembleConfig): void {
  writeFileSync(file, JSON.stringify(e, null, 2) + '\n');
}
