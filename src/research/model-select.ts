// Models as `skipper select` candidates: each model folder runs as the config's `model` strategy over the
// window (through the kernel, like every research run), is judged by the golden rules, and the ones that pass
// make the ensemble file (weights by objective share), which is then judged the same way.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { deepMerge, parseConfig } from '../config/load.ts';
import type { MetricRule, Objective } from '../core/metric-rules.ts';
import type { VoteMode } from '../models/ensemble.ts';
import { MANIFEST_FILE, manifestSchema } from '../models/manifest.ts';
import { ensembleOf, writeEnsemble } from './model-candidates.ts';
import { runModelConfigBacktest } from './model-run.ts';
import { slim } from './objective.ts';
import type { RunConfigOptions } from './run-config.ts';
import { verdictOf, type Verdict } from './select.ts';

export interface ModelSelectOptions {
  raw: Record<string, unknown>;
  /** Model folders. */
  dirs: string[];
  data: RunConfigOptions['data'];
  from?: number | undefined;
  to?: number | undefined;
  rules: MetricRule[];
  objective: Objective;
  /** Where the ensemble of the passing models is written. */
  ensembleFile: string;
  mode?: VoteMode;
  minConfidence?: number;
  /** Each run as it finishes (progress). */
  progress?: (done: number, total: number) => void;
}

export interface ModelSelection {
  /** The models, ranked: passing first, then by objective. */
  verdicts: Verdict[];
  /** The ensemble of the passing models and its verdict; null when none passed. */
  ensemble: { file: string; previous: string | null; members: Array<{ model: string; weight: number }>; verdict: Verdict } | null;
  /** Models whose training period overlaps the window (their figures are not out of sample). */
  inSample: string[];
}

function judge(name: string, r: Awaited<ReturnType<typeof runModelConfigBacktest>>, o: ModelSelectOptions): Verdict {
  return verdictOf(name, null, slim(r), o);
}

const rank = (a: Verdict, b: Verdict): number =>
  Number(b.passed) - Number(a.passed) || (b.objective > a.objective ? 1 : b.objective < a.objective ? -1 : 0);

/** Training period of a model folder, when its manifest names one. */
function trainingRange(dir: string): [number, number] | null {
  try {
    const t = manifestSchema.parse(JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'))).training;
    return t === undefined ? null : [Date.parse(t.from), Date.parse(t.to)];
  } catch {
    return null; // the run itself says what is wrong with the manifest
  }
}

export async function selectModels(o: ModelSelectOptions): Promise<ModelSelection> {
  const total = o.dirs.length + 1;
  const run = (strategy: Record<string, unknown>) =>
    runModelConfigBacktest({ config: parseConfig(deepMerge(o.raw, { strategy }), 'select'), data: o.data, from: o.from, to: o.to });
  const verdicts: Array<Verdict & { dir: string }> = [];
  const inSample: string[] = [];
  for (const [i, dir] of o.dirs.entries()) {
    let r;
    try {
      r = await run({ name: 'model', model: dir, ...(o.minConfidence !== undefined ? { minConfidence: o.minConfidence } : {}) });
    } catch (e) {
      throw new Error(`${dir}: ${(e as Error).message}`);
    }
    const m = r.models[0]!;
    verdicts.push({ ...judge(`model ${m.name} v${m.version}`, r, o), dir });
    const t = trainingRange(dir);
    if (t !== null && t[0] <= r.to && t[1] >= r.from) inSample.push(m.name);
    o.progress?.(i + 1, total);
  }
  verdicts.sort(rank);
  const passing = verdicts.filter((v) => v.passed);
  if (passing.length === 0) return { verdicts, ensemble: null, inSample };
  const root = dirname(o.ensembleFile);
  const config = ensembleOf(
    // Beside the file: by name; elsewhere: by absolute path (a member naming a sub-path is read from the working directory).
    passing.map((v) => ({ model: relative(root, v.dir).includes('/') ? resolve(v.dir) : relative(root, v.dir), objective: v.objective })),
    { ...(o.mode !== undefined ? { mode: o.mode } : {}), ...(o.minConfidence !== undefined ? { minConfidence: o.minConfidence } : {}) },
  );
  // A file already there (the ensemble the bot may be serving) is kept beside the new one.
  let previous: string | null = null;
  if (existsSync(o.ensembleFile)) {
    previous = `${o.ensembleFile}.prev`;
    renameSync(o.ensembleFile, previous);
  }
  writeEnsemble(o.ensembleFile, config);
  const r = await run({ name: 'ensemble', ensemble: o.ensembleFile });
  o.progress?.(total, total);
  const verdict = judge(`ensemble of ${passing.length} (${config.mode})`, r, o);
  return { verdicts, ensemble: { file: o.ensembleFile, previous, members: config.members, verdict }, inSample };
}
