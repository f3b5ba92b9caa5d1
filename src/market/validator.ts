// Candle validation, one validator per (symbol, timeframe) stream. `check` runs on every candle the
// engine sees (live, paper, backtest), so the good path allocates nothing and returns a shared constant.

import type { AlertInput } from '../core/alerts.ts';
import { counted } from '../core/format.ts';
import { MAX_PRICE, MIN_PRICE } from '../core/prices.ts';
import { TIMEFRAME_MS, type Candle, type Timeframe } from '../core/types.ts';

export { MAX_PRICE, MIN_PRICE };

export const REJECT_KINDS = ['nan', 'negative', 'bad_price', 'ohlc', 'misaligned', 'duplicate', 'out_of_order', 'jump'] as const;
export const WARN_KINDS = ['gap', 'zero_volume', 'flat', 'jump_confirmed'] as const;
export type RejectKind = (typeof REJECT_KINDS)[number];
export type WarnKind = (typeof WARN_KINDS)[number];
export type IssueKind = RejectKind | WarnKind;
export const ISSUE_KINDS: readonly IssueKind[] = [...REJECT_KINDS, ...WARN_KINDS];

export interface JumpRule {
  /** Hold a candle whose high or low is more than this many σ from the last close (null: off). */
  sigmas: number | null;
  /** …and more than this fraction away: a quiet market makes an ordinary 2–4 % wick 40–60 σ. */
  minPct: number;
}

/**
 * 50 σ and 10 %: the largest one-candle moves in ../shared/data (the March 2020 and May 2021
 * crashes, the 2023 halt included) reach 26 σ among moves over 10 % (61 σ among all moves).
 */
export const DEFAULT_JUMP_RULE: JumpRule = { sigmas: 50, minPct: 0.1 };

/** EWMA span (candles) of the per-candle variance, and the candles it needs before the rule applies. */
const VOL_SPAN = 60;
const VOL_ALPHA = 2 / (VOL_SPAN + 1);
const VOL_WARMUP = 20;
const PARKINSON = 1 / (4 * Math.log(2));

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

/** 3 significant digits, whole numbers from 100 up: 1.31, 24.8, 1000. */
const short = (x: number): string => (x >= 100 ? String(Math.round(x)) : x.toPrecision(3));

const describe = (c: Candle): string => `o=${c.open} h=${c.high} l=${c.low} c=${c.close} v=${c.volume}`;

export class CandleValidator {
  readonly tfMs: number;
  private last: Candle | null = null;
  /** A candle held for a jump, waiting for the next one to confirm or refute it. */
  private held: Candle | null = null;
  private readonly jump: JumpRule;
  private readonly upMin: number;
  private readonly downMin: number;
  /** EWMA of the per-candle variance (squared return or Parkinson range, the larger), and its sample count. */
  private vol = 0;
  private volN = 0;

  constructor(
    readonly symbol: string,
    readonly timeframe: Timeframe,
    jump: Partial<JumpRule> = {},
  ) {
    this.tfMs = TIMEFRAME_MS[timeframe];
    this.jump = { ...DEFAULT_JUMP_RULE, ...jump };
    this.upMin = 1 + this.jump.minPct;
    this.downMin = 1 / (1 + this.jump.minPct);
  }

  /** The last accepted candle's ts (undefined before the first). */
  get lastTs(): number | undefined {
    return this.last?.ts;
  }

  /** Continue after a restart: treat `c` as already accepted (e.g. the last journaled candle). */
  resume(c: Candle): void {
    this.last = c;
    this.held = null;
  }

  reset(): void {
    this.last = null;
    this.held = null;
    this.vol = 0;
    this.volN = 0;
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
      // A line with no readable field at all (a stray line in a CSV) has no time to name.
      if (bad.length === 6) return this.reject(c, 'nan', 'nan: a line with no number in it, not a candle');
      return this.reject(
        c,
        'nan',
        `nan: non-finite ${bad.join(', ')} at ${Number.isFinite(ts) ? isoUtc(ts) : 'an unreadable time'} (${describe(c)})`,
      );
    }
    if (open < 0 || high < 0 || low < 0 || close < 0 || volume < 0) {
      return this.reject(c, 'negative', `negative: negative price or volume at ${isoUtc(ts)} (${describe(c)})`);
    }
    if (!(
      open >= MIN_PRICE &&
      high >= MIN_PRICE &&
      low >= MIN_PRICE &&
      close >= MIN_PRICE &&
      open <= MAX_PRICE &&
      high <= MAX_PRICE &&
      low <= MAX_PRICE &&
      close <= MAX_PRICE
    )) {
      const what = open === 0 || high === 0 || low === 0 || close === 0 ? 'zero price' : `price outside [${MIN_PRICE}, ${MAX_PRICE}]`;
      return this.reject(c, 'bad_price', `bad_price: ${what} at ${isoUtc(ts)} (${describe(c)})`);
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
    // Order and gaps count from the latest candle seen, a held one included.
    const prev = this.held ?? last;
    if (prev !== null) {
      if (ts === prev.ts) {
        const identical = open === prev.open && high === prev.high && low === prev.low && close === prev.close && volume === prev.volume;
        return this.reject(
          c,
          'duplicate',
          identical
            ? `duplicate: identical ${this.timeframe} candle at ${isoUtc(ts)} repeated`
            : `duplicate: conflicting ${this.timeframe} candle at ${isoUtc(ts)} (${describe(c)} vs accepted ${describe(prev)})`,
          { identical, lastTs: prev.ts },
        );
      }
      if (ts < prev.ts) {
        return this.reject(c, 'out_of_order', `out_of_order: ${isoUtc(ts)} arrived after ${isoUtc(prev.ts)}`, { lastTs: prev.ts });
      }
    }
    let confirmed: Candle | null = null;
    if (last !== null && this.jump.sigmas !== null && this.volN >= VOL_WARMUP && this.jumpFrom(c, last) > 0) {
      const held = this.held;
      if (held === null || this.jumpFrom(c, held) > 0) {
        this.held = c;
        return this.reject(c, 'jump', this.jumpText(c, last));
      }
      confirmed = held; // it carries on from the held candle: the move was real
    }
    // Accepted. Warnings only allocate when present.
    let issues: CandleIssue[] | null = null;
    if (prev !== null && ts > prev.ts + tf) {
      const from = prev.ts + tf;
      const to = ts - tf;
      const missing = (to - from) / tf + 1;
      issues = [
        this.issue(c, 'gap', `gap: ${counted(missing, `missing ${this.timeframe} candle`)} ${isoRange(from, to)}`, {
          missing,
          from,
          to,
        }),
      ];
    }
    if (volume === 0) {
      (issues ??= []).push(this.issue(c, 'zero_volume', `zero_volume: ${this.timeframe} candle at ${isoUtc(ts)} has zero volume`));
    } else this.updateVol(c, confirmed ?? last);
    if (open === high && high === low && low === close) {
      (issues ??= []).push(this.issue(c, 'flat', `flat: ${this.timeframe} candle at ${isoUtc(ts)} has O=H=L=C=${close}`));
    }
    if (confirmed !== null) {
      (issues ??= []).push(
        this.issue(
          c,
          'jump_confirmed',
          `jump_confirmed: the move to ${confirmed.close} at ${isoUtc(confirmed.ts)} is confirmed by the candle at ${isoUtc(ts)} (close ${close}); trading on from here`,
        ),
      );
    }
    this.held = null;
    this.last = c;
    return issues === null ? CHECK_OK : { accepted: true, issues };
  }

  /** How many allowed moves `c` is away from `ref`'s close (> 0: a jump). Cheap unless beyond minPct. */
  private jumpFrom(c: Candle, ref: Candle): number {
    const p = ref.close;
    if (c.high <= p * this.upMin && c.low >= p * this.downMin) return 0;
    const move = Math.max(Math.log(c.high / p), Math.log(p / c.low));
    const allowed = this.jump.sigmas! * Math.sqrt(this.vol * Math.max(1, (c.ts - ref.ts) / this.tfMs));
    return move > allowed ? move / allowed : 0;
  }

  private jumpText(c: Candle, ref: Candle): string {
    const p = ref.close;
    const up = c.high / p >= p / c.low;
    const sigmas = short(this.jumpFrom(c, ref) * this.jump.sigmas!);
    const what = up ? `high ${c.high} is ${short(c.high / p)}×` : `low ${c.low} is 1/${short(p / c.low)} of`;
    return `jump: ${what} the last close ${p} (${sigmas} σ) at ${isoUtc(c.ts)}; held until the next candle confirms it`;
  }

  /** Simple returns, not logs: σ is a scale, and this runs on every candle. */
  private updateVol(c: Candle, ref: Candle | null): void {
    const q = (c.high - c.low) / c.low;
    let x = q * q * PARKINSON;
    if (ref !== null) {
      const r = (c.close - ref.close) / ref.close;
      const r2 = (r * r) / Math.max(1, (c.ts - ref.ts) / this.tfMs);
      if (r2 > x) x = r2;
    }
    this.vol = this.volN === 0 ? x : this.vol + VOL_ALPHA * (x - this.vol);
    this.volN++;
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
  const named = `${issue.kind}: `; // the detail starts with the kind, which the title already says
  return {
    type: gap ? 'data_gap' : 'bad_candle',
    severity: issue.severity === 'reject' || gap ? 'warning' : 'info',
    title: `${issue.symbol} ${issue.kind.replaceAll('_', ' ')}${issue.severity === 'reject' ? ' (candle ignored)' : ''}`,
    message: issue.detail.startsWith(named) ? issue.detail.slice(named.length) : issue.detail,
    key: `candle:${issue.symbol}:${issue.timeframe}:${issue.kind}`,
    data: { ts: issue.ts, kind: issue.kind, ...(gap ? { missing: issue.missing, from: issue.from, to: issue.to } : {}) },
  };
}
