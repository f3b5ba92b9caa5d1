// Rules on a run's figures ("max_drawdown<=0.2"): the grammar of `--require`, `--rules` and the
// config's research.rules, defined once. Plain data and parsing only: the config schema uses it too.

/** Figures a rule or an objective may name; ratios are fractions (0.2 = 20 %). */
export const RULE_METRICS = [
  'total_return',
  'cagr',
  'sharpe',
  'sortino',
  'calmar',
  'max_drawdown',
  'win_rate',
  'profit_factor',
  'expectancy',
  'exposure',
  'fees',
  'trades',
  'final_equity',
  'worst_day',
  'time_under_water',
  'breaker_trips',
  'halts',
  'liquidations',
] as const;
export type RuleMetric = (typeof RULE_METRICS)[number];

/** Other names people write for the same figure. */
const ALIASES: Readonly<Record<string, RuleMetric>> = { return: 'total_return', max_dd: 'max_drawdown', winrate: 'win_rate' };

export const RULE_OPS = ['<=', '>=', '<', '>', '='] as const;
export type RuleOp = (typeof RULE_OPS)[number];

export interface MetricRule {
  metric: RuleMetric;
  op: RuleOp;
  value: number;
  /** As written, normalised: "max_drawdown<=0.2". */
  text: string;
}

/** What a sweep maximises (higher is better). */
export const OBJECTIVES = ['sharpe', 'sortino', 'calmar', 'return', 'profit_factor'] as const;
export type Objective = (typeof OBJECTIVES)[number];

/** The golden rules' documented example (issue 11), the default of research.rules. */
export const DEFAULT_GOLDEN_RULES = ['cagr>=0.5', 'max_drawdown<=0.2', 'sharpe>=1.5', 'win_rate>=0.55'] as const;

export function metricName(name: string): RuleMetric | undefined {
  const n = name.trim().toLowerCase();
  if ((RULE_METRICS as readonly string[]).includes(n)) return n as RuleMetric;
  return ALIASES[n];
}

/** "max_drawdown<=0.2" → a rule; throws with a message naming what is wrong. */
export function parseRule(text: string): MetricRule {
  const m = /^\s*([a-z_]+)\s*(<=|>=|<|>|==?)\s*(-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?)\s*(%?)\s*$/i.exec(text);
  if (!m) throw new Error(`"${text}" is not a rule: write metric<=number, e.g. max_drawdown<=0.2`);
  const metric = metricName(m[1]!);
  if (!metric) throw new Error(`"${text}": unknown metric "${m[1]}"; known: ${RULE_METRICS.join(', ')}`);
  const op = (m[2] === '==' ? '=' : m[2]) as RuleOp;
  const value = Number(m[3]) / (m[4] ? 100 : 1);
  return { metric, op, value, text: `${metric}${op}${value}` };
}

/** A comma-separated list (or an array) of rules. */
export function parseRules(spec: string | readonly string[]): MetricRule[] {
  const parts = typeof spec === 'string' ? spec.split(',') : spec;
  return parts.filter((p) => p.trim() !== '').map(parseRule);
}

export function passes(rule: MetricRule, value: number | null | undefined): boolean {
  if (value === null || value === undefined || Number.isNaN(value)) return false;
  switch (rule.op) {
    case '<=':
      return value <= rule.value;
    case '>=':
      return value >= rule.value;
    case '<':
      return value < rule.value;
    case '>':
      return value > rule.value;
    default:
      return value === rule.value;
  }
}

/** A rule's text, or why it is not one (for schema validation). */
export function ruleProblem(text: string): string | null {
  try {
    parseRule(text);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
