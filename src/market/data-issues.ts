// What the candle validator said about a run's data, summed up for a backtest's output: the issues
// by kind (candles rejected, and the warnings on candles used as they are: gaps, zero volume…) and
// the gaps themselves. The engine tallies them as it validates; both backtests print them.
import { counted } from '../core/format.ts';
import { isoRange, issueSeverity, type CandleIssue, type IssueKind } from './validator.ts';

/** Gaps listed one by one (all of them are counted). */
export const MAX_LISTED_GAPS = 20;

export interface DataIssues {
  /** Issues by kind, only the kinds seen. */
  counts: Partial<Record<IssueKind, number>>;
  /** Candles missing in all the gaps together. */
  missing_candles: number;
  /** The first MAX_LISTED_GAPS gaps: first and last missing open time (ms) and how many candles. */
  gaps: Array<{ symbol: string; from: number; to: number; missing: number }>;
}

export const noDataIssues = (): DataIssues => ({ counts: {}, missing_candles: 0, gaps: [] });

export function tallyIssue(t: DataIssues, is: CandleIssue): void {
  t.counts[is.kind] = (t.counts[is.kind] ?? 0) + 1;
  if (is.kind !== 'gap' || is.missing === undefined) return;
  t.missing_candles += is.missing;
  if (t.gaps.length < MAX_LISTED_GAPS) t.gaps.push({ symbol: is.symbol, from: is.from!, to: is.to!, missing: is.missing });
}

/** Several symbols' tallies as one (gaps in time order). */
export function mergeDataIssues(list: readonly DataIssues[]): DataIssues {
  const out = noDataIssues();
  for (const t of list) {
    for (const [k, n] of Object.entries(t.counts) as Array<[IssueKind, number]>) out.counts[k] = (out.counts[k] ?? 0) + n;
    out.missing_candles += t.missing_candles;
    out.gaps.push(...t.gaps);
  }
  out.gaps = out.gaps.sort((a, b) => a.from - b.from).slice(0, MAX_LISTED_GAPS);
  return out;
}

const SHOWN_GAPS = 3;

/**
 * The text output's line, null when the validator found nothing: "data: 1 gap (48 missing 1h
 * candles): 2020-01-05T04:00:00Z–2020-01-07T03:00:00Z; used as they are: zero volume 2; rejected: duplicate 1".
 */
export function dataIssuesText(t: DataIssues, timeframe: string): string | null {
  const parts: string[] = [];
  const gaps = t.counts.gap ?? 0;
  if (gaps > 0) {
    const several = new Set(t.gaps.map((g) => g.symbol)).size > 1;
    const shown = t.gaps.slice(0, SHOWN_GAPS).map((g) => `${several ? `${g.symbol} ` : ''}${isoRange(g.from, g.to)}`);
    parts.push(
      `${counted(gaps, 'gap')} (${counted(t.missing_candles, `missing ${timeframe} candle`)}): ${shown.join(', ')}${gaps > shown.length ? `, ${gaps - shown.length} more` : ''}`,
    );
  }
  const kinds = (Object.entries(t.counts) as Array<[IssueKind, number]>).filter(([k, n]) => k !== 'gap' && n > 0);
  const list = (sev: 'warn' | 'reject') =>
    kinds
      .filter(([k]) => issueSeverity(k) === sev)
      .map(([k, n]) => `${k.replaceAll('_', ' ')} ${n}`)
      .join(', ');
  if (list('warn')) parts.push(`used as they are: ${list('warn')}`);
  if (list('reject')) parts.push(`rejected: ${list('reject')}`);
  return parts.length ? `data: ${parts.join('; ')}` : null;
}
