// Candle validation, one validator per (symbol, timeframe) stream. `check` runs on every candle the
// engine sees (live, paper, backtest), so the good path allocates nothing and returns a shared constant.

import type { AlertInput } from '../core/alerts.ts';
import { TIMEFRAME_MS, type Candle, type Timeframe } from '../core/types.ts';

export const REJECT_KINDS = ['nan', 'negative', 'ohlc', 'misaligned', 'duplicate', 'out_of_order'] as const;
export const WARN_KINDS = ['gap', 'zero_volume', 'flat'] as const;
export type RejectKind = (typeof REJECT_KINDS)[number];
export type WarnKind = (typeof WARN_KINDS)[number];
export type IssueKind = RejectKind | WarnKind;
export const ISSUE_KINDS: readonly IssueKind[] = [...REJECT_KINDS, ...WARN_KINDS];

/** reject: the engine must not act on the candle. warn: the candle is used; journal and alert. */
export type IssueSeverity = 'reject' | 'warn';

export interface CandleIssue {
  kind: IssueKind;
  severity: IssueSeverity;
  symbol: string;
  timeframe: Timeframe;
  /** The offending candle's ts (for a gap: the candle after the hole). */
  ts: number;
  /** One line, UTC ISO times, e.g. "gap: 80 missing 1m candles 2023-03-24T12:40:00Z–13:59:00Z". */
  detail: string;
  candle: Candle;
  /** gap: number of missing candles and the first/last missing open times. */
  missing?: number;
  from?: number;
  to?: number;
  /** duplicate: true when every field equals the accepted candle, false when they conflict. */
  identical?: boolean;
  /** duplicate/out_of_order: ts of the last accepted candle. */
  lastTs?: number;
}

export interface CheckResult {
  /** false: do not act on this candle (not fed to strategies or fills). */
  readonly accepted: boolean;
  /** Empty on the good path. A rejected candle has one reject issue; an accepted one may carry warnings. */
  readonly issues: readonly CandleIssue[];
}

/** Shared result for a clean candle: compare with `=== CHECK_OK` or read `.accepted`. */
export const CHECK_OK: CheckResult = Object.freeze({ accepted: true, issues: Object.freeze([]) as readonly CandleIssue[] });

export const issueSeverity = (k: IssueKind): IssueSeverity => ((REJECT_KINDS as readonly string[]).includes(k) ? 'reject' : 'warn');

/** ISO UTC without milliseconds unless they are non-zero: 2023-03-24T12:40:00Z, 2018-02-09T09:28:14.800Z. */
export function isoUtc(ts: number): string {
  if (!Number.isFinite(ts)) return String(ts);
  const s = new Date(ts).toISOString();
  return s.endsWith('.000Z') ? s.slice(0, -5) + 'Z' : s;
}

/** "2023-03-24T12:40:00Z–13:59:00Z" (the end keeps only the time when on the same UTC day). */
export function isoRange(from: number, to: number): string {
  if (from === to) return isoUtc(from);
  const a = isoUtc(from);
  const b = isoUtc(to);
  return a.slice(0, 10) === b.slice(0, 10) ? `${a}–${b.slice(11)}` : `${a}–${b}`;
}

const describe = (c: Candle): string => `o=${c.open} h=${c.high} l=${c.low} c=${c.close} v=${c.volume}`;

export class CandleValidator {
  readonly tfMs: number;
  private last: Candle | null = null;

  constructor(
    readonly symbol: string,
    readonly timeframe: Timeframe,
  ) {
    this.tfMs = TIMEFRAME_MS[timeframe];
  }

  /** The last accepted candle's ts (undefined before the first). */
  get lastTs(): number | undefined {
    return this.last?.ts;
  }

  /** Continue after a restart: treat `c` as already accepted (e.g. the last journaled candle). */
  resume(c: Candle): void {
    this.last = c;
  }

  reset(): void {
    this.last = null;
  }

  check(c: Candle): CheckResult {
    const { ts, open, high, low, close, volume } = c;
    // Reject-level checks, in order; the first hit decides.
    if (!(
      Number.isFinite(ts) &&
      Number.isFinite(open) &&
      Number.isFinite(high) &&
      Number.isFinite(low) &&
      Number.isFinite(close) &&
      Number.isFinite(volume)
    )) {
      const bad = (['ts', 'open', 'high', 'low', 'close', 'volume'] as const).filter((k) => !Number.isFinite(c[k]));
      return this.reject(c, 'nan', `nan: non-finite ${bad.join(', ')} at ${isoUtc(ts)} (${describe(c)})`);
    }
    if (open < 0 || high < 0 || low < 0 || close < 0 || volume < 0) {
      return this.reject(c, 'negative', `negative: negative price or volume at ${isoUtc(ts)} (${describe(c)})`);
    }
    if (high < low || open < low || open > high || close < low || close > high) {
      const why = high < low ? 'high < low' : open < low || open > high ? 'open outside [low, high]' : 'close outside [low, high]';
      return this.reject(c, 'ohlc', `ohlc: ${why} at ${isoUtc(ts)} (${describe(c)})`);
    }
    const tf = this.tfMs;
    if (ts % tf !== 0) {
      return this.reject(c, 'misaligned', `misaligned: ${isoUtc(ts)} is not on the ${this.timeframe} grid (UTC)`);
    }
    const last = this.last;
    if (last !== null) {
      if (ts === last.ts) {
        const identical = open === last.open && high === last.high && low === last.low && close === last.close && volume === last.volume;
        return this.reject(
          c,
          'duplicate',
          identical
            ? `duplicate: identical ${this.timeframe} candle at ${isoUtc(ts)} repeated`
            : `duplicate: conflicting ${this.timeframe} candle at ${isoUtc(ts)} (${describe(c)} vs accepted ${describe(last)})`,
          { identical, lastTs: last.ts },
        );
      }
      if (ts < last.ts) {
        return this.reject(c, 'out_of_order', `out_of_order: ${isoUtc(ts)} arrived after ${isoUtc(last.ts)}`, { lastTs: last.ts });
      }
    }
    // Accepted. Warnings only allocate when present.
    let issues: CandleIssue[] | null = null;
    if (last !== null && ts > last.ts + tf) {
      const from = last.ts + tf;
      const to = ts - tf;
      const missing = (to - from) / tf + 1;
      issues = [
        this.issue(c, 'gap', `gap: ${missing} missing ${this.timeframe} candle${missing === 1 ? '' : 's'} ${isoRange(from, to)}`, {
          missing,
          from,
          to,
        }),
      ];
    }
    if (volume === 0) {
      (issues ??= []).push(this.issue(c, 'zero_volume', `zero_volume: ${this.timeframe} candle at ${isoUtc(ts)} has zero volume`));
    }
    if (open === high && high === low && low === close) {
      (issues ??= []).push(this.issue(c, 'flat', `flat: ${this.timeframe} candle at ${isoUtc(ts)} has O=H=L=C=${close}`));
    }
    this.last = c;
    return issues === null ? CHECK_OK : { accepted: true, issues };
  }

  private issue(c: Candle, kind: IssueKind, detail: string, extra?: Partial<CandleIssue>): CandleIssue {
    return { kind, severity: issueSeverity(kind), symbol: this.symbol, timeframe: this.timeframe, ts: c.ts, detail, candle: c, ...extra };
  }

  private reject(c: Candle, kind: RejectKind, detail: string, extra?: Partial<CandleIssue>): CheckResult {
    return { accepted: false, issues: [this.issue(c, kind, detail, extra)] };
  }
}

export interface SeriesValidation {
  /** Accepted candles (clean + warned), in input order. */
  accepted: Candle[];
  issues: CandleIssue[];
  /** Issue count per kind (every kind present, 0 when none). */
  counts: Record<IssueKind, number>;
  /** Index in the input of each issue's candle (parallel to `issues`); for a CSV, line = index + 2. */
  indexes: number[];
  /** Sum of `missing` over all gaps. */
  missingCandles: number;
}

/** Validate a whole series (backtest CLI, tests). */
export function validateSeries(candles: readonly Candle[], symbol: string, timeframe: Timeframe): SeriesValidation {
  const v = new CandleValidator(symbol, timeframe);
  const accepted: Candle[] = [];
  const issues: CandleIssue[] = [];
  const indexes: number[] = [];
  const counts = Object.fromEntries(ISSUE_KINDS.map((k) => [k, 0])) as Record<IssueKind, number>;
  let missingCandles = 0;
  for (let i = 0; i < candles.length; i++) {
    const c = candles[i]!;
    const r = v.check(c);
    if (r.accepted) accepted.push(c);
    if (r === CHECK_OK) continue;
    for (const is of r.issues) {
      issues.push(is);
      indexes.push(i);
      counts[is.kind]++;
      if (is.kind === 'gap') missingCandles += is.missing ?? 0;
    }
  }
  return { accepted, issues, counts, indexes, missingCandles };
}

/** The alert the engine raises for an issue: rejects are 'bad_candle' warnings, gaps 'data_gap'. */
export function alertForIssue(issue: CandleIssue): AlertInput {
  const gap = issue.kind === 'gap';
  return {
    type: gap ? 'data_gap' : 'bad_candle',
    severity: issue.severity === 'reject' || gap ? 'warning' : 'info',
    title: `${issue.symbol} ${issue.timeframe}: ${issue.kind}${issue.severity === 'reject' ? ' (candle ignored)' : ''}`,
    message: issue.detail,
    key: `candle:${issue.symbol}:${issue.timeframe}:${issue.kind}`,
    data: { ts: issue.ts, kind: issue.kind, ...(gap ? { missing: issue.missing, from: issue.from, to: issue.to } : {}) },
  };
}
