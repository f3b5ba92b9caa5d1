// Objectives and constraints on run results.
import { passes, type MetricRule, type Objective, type RuleMetric } from '../core/metric-rules.ts';
import { CAGR_NA_WHY } from '../engine/cagr-span.ts';

export { OBJECTIVES, type Objective } from '../core/metric-rules.ts';

/** What rules and objectives read from a result (the slim metrics stored per run). */
export interface RunFigures {
  metrics: {
    total_return: number;
    /** cagr and calmar: null when the run spans under 30 days (engine/cagr-span.ts); a rule on them then fails. */
    cagr: number | null;
    sharpe: number;
    sortino: number;
    calmar: number | null;
    max_drawdown: number;
    win_rate: number;
    profit_factor: number | null;
    expectancy: number;
    exposure: number;
    fees: number;
    trades: number;
    final_equity: number;
  };
  worst_day: number;
  time_under_water: number;
  breaker_trips: number;
  halts: number;
  liquidations: unknown[] | number;
}

export function figure(r: RunFigures, m: RuleMetric): number | null {
  switch (m) {
    case 'worst_day':
      return r.worst_day;
    case 'time_under_water':
      return r.time_under_water;
    case 'breaker_trips':
      return r.breaker_trips;
    case 'halts':
      return r.halts;
    case 'liquidations':
      return typeof r.liquidations === 'number' ? r.liquidations : r.liquidations.length;
    case 'profit_factor':
      // No losing trade: unbounded when something was won, 0 when nothing was traded.
      return r.metrics.profit_factor ?? (r.metrics.win_rate > 0 ? Infinity : 0);
    default:
      return r.metrics[m];
  }
}

/** NaN when the run does not give the figure (a calmar under 30 days): it ranks after every other. */
export function objectiveValue(r: RunFigures, o: Objective): number {
  return figure(r, o === 'return' ? 'total_return' : o) ?? Number.NaN;
}

/** The rules a result fails (empty: it passes every one). */
export function failedRules(r: RunFigures, rules: readonly MetricRule[]): MetricRule[] {
  return rules.filter((rule) => !passes(rule, figure(r, rule.metric)));
}

/** The failed rules as a verdict names them: "cagr>=0.5 (n/a: under 30 days of data)" when the figure is not given. */
export function failedRuleTexts(r: RunFigures, rules: readonly MetricRule[]): string[] {
  return failedRules(r, rules).map((rule) => (figure(r, rule.metric) === null ? `${rule.text} (${CAGR_NA_WHY})` : rule.text));
}

/** Slim, JSON-safe figures kept per run in the results file (no curves). */
export function slim(r: RunFigures): RunFigures {
  return {
    metrics: { ...r.metrics },
    worst_day: r.worst_day,
    time_under_water: r.time_under_water,
    breaker_trips: r.breaker_trips,
    halts: r.halts,
    liquidations: typeof r.liquidations === 'number' ? r.liquidations : r.liquidations.length,
  };
}
