// Golden-rule selection: which candidates (strategies, parameter sets) pass every rule out of sample.
//
// Candidates are config overlays; model folders among them are judged by model-select.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { deepMerge, parseConfig } from '../config/load.ts';
import type { MetricRule, Objective } from '../core/metric-rules.ts';
import { calmarOf } from '../engine/cagr-span.ts';
import { ENSEMBLE_FILE } from '../models/open.ts';
import { failedRuleTexts, objectiveValue, type RunFigures } from './objective.ts';
import { pointLabel, type ParamPoint } from './params.ts';
import { runSweep, type SweepOptions, type SweepReport } from './sweep.ts';

export interface Candidate {
  name: string;
  /** Merged onto the base config. */
  overlay: Record<string, unknown>;
}

/** Every YAML/JSON file in `dir` (but an ensemble.json) is one candidate overlay (e.g. `strategy: { name: macd }`). */
export function candidatesFrom(dir: string): Candidate[] {
  const files = readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f) && f !== ENSEMBLE_FILE)
    .sort();
  if (files.length === 0) throw new Error(`${dir}: no candidate files (*.yaml, *.yml, *.json)`);
  return files.map((f) => {
    const text = readFileSync(join(dir, f), 'utf8');
    let overlay: unknown;
    try {
      overlay = f.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (e) {
      throw new Error(`${join(dir, f)}: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!overlay || typeof overlay !== 'object' || Array.isArray(overlay))
      throw new Error(`${join(dir, f)}: expected a mapping of config values`);
    return { name: basename(f).replace(/\.(ya?ml|json)$/, ''), overlay: overlay as Record<string, unknown> };
  });
}

export interface Verdict {
  candidate: string;
  params: ParamPoint | null;
  /** Out-of-sample figures (stitched over the test windows with walk-forward). */
  figures: RunFigures;
  objective: number;
  failed: string[];
  passed: boolean;
}

/** A candidate's figures judged by the rules and ranked by the objective (a figure it lacks ranks last). */
export function verdictOf(
  candidate: string,
  params: ParamPoint | null,
  figures: RunFigures,
  o: { rules: readonly MetricRule[]; objective: Objective },
): Verdict {
  const failed = failedRuleTexts(figures, o.rules);
  const v = objectiveValue(figures, o.objective);
  return { candidate, params, figures, objective: Number.isNaN(v) ? -Infinity : v, failed, passed: failed.length === 0 };
}

/** Figures of the stitched out-of-sample run; figures it does not measure are NaN (a rule on them fails). */
function stitchedFigures(r: SweepReport): RunFigures {
  const s = r.stitched!;
  const nan = Number.NaN;
  return {
    metrics: {
      total_return: s.total_return,
      cagr: s.cagr,
      sharpe: s.sharpe,
      sortino: nan,
      calmar: calmarOf(s.cagr, s.max_drawdown),
      max_drawdown: s.max_drawdown,
      win_rate: s.win_rate,
      profit_factor: nan,
      expectancy: nan,
      exposure: nan,
      fees: nan,
      trades: s.trades,
      final_equity: nan,
    },
    worst_day: nan,
    time_under_water: nan,
    breaker_trips: r.windows.reduce((a, w) => a + (w.oos?.figures.breaker_trips ?? 0), 0),
    halts: r.windows.reduce((a, w) => a + (w.oos?.figures.halts ?? 0), 0),
    liquidations: r.windows.reduce((a, w) => a + Number(w.oos?.figures.liquidations ?? 0), 0),
  };
}

export interface SelectOptions extends Omit<SweepOptions, 'raw' | 'base' | 'search'> {
  raw: Record<string, unknown>;
  candidates: Candidate[];
  rules: MetricRule[];
  objective: Objective;
}

/**
 * Without walk-forward every candidate and parameter set runs once on the whole window: nothing is
 * fitted, so all of it is out of sample. With walk-forward each candidate's parameters are chosen on
 * every train window and judged on the stitched test windows that follow.
 */
export async function select(o: SelectOptions): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  for (const c of o.candidates) {
    const raw = deepMerge(o.raw, c.overlay);
    const base = parseConfig(raw, c.name);
    const report = await runSweep({ ...o, raw, base, search: { kind: 'grid' }, require: o.walkForward ? o.require : [] });
    if (report.errors.length) throw new Error(`${c.name}: ${report.errors[0]!.error}`);
    const judge = (figures: RunFigures, params: ParamPoint | null): Verdict => verdictOf(c.name, params, figures, o);
    if (o.walkForward) {
      if (report.stitched) verdicts.push(judge(stitchedFigures(report), null));
    } else for (const r of report.ranking) verdicts.push(judge(r.figures, o.specs.length ? r.point : null));
  }
  return verdicts.sort(
    (a, b) => Number(b.passed) - Number(a.passed) || (b.objective > a.objective ? 1 : b.objective < a.objective ? -1 : 0),
  );
}

export const verdictLabel = (v: Verdict): string => (v.params ? `${v.candidate} ${pointLabel(v.params)}` : v.candidate);
