// Plain-text tables and number formats for research output.
import { EXIT_REASONS, type ExitReason } from '../core/types.ts';
import { isoUtc } from '../market/validator.ts';

export const pct = (x: number | null | undefined, d = 2): string =>
  x === null || x === undefined || !Number.isFinite(x) ? (x === Infinity ? '∞' : '—') : `${(x * 100).toFixed(d)}%`;
export const num = (x: number | null | undefined, d = 2): string =>
  x === null || x === undefined ? '—' : Number.isFinite(x) ? x.toFixed(d) : x > 0 ? '∞' : '—';
/** Parameters as "fast=10 slow=30": run headers, reports and sweep tables alike. */
export const paramsText = (p: Readonly<Record<string, unknown>>): string =>
  Object.entries(p)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
export const day = (ts: number): string => isoUtc(ts).slice(0, 10);
export const when = (ts: number): string =>
  isoUtc(ts)
    .replace('T', ' ')
    .replace(/:00Z$|Z$/, '');

/** Columns padded to their widest cell; numbers (and %) right-aligned. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+−]?[\d.,]+%?$|^—$|^∞$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

/** A run's closed trades by exit reason, most first: "signal 12 (33% won, -41.20), stop-loss 3 (0%, -30.00)". */
export function exitsLine(exits: Partial<Record<ExitReason, { trades: number; wins: number; net: number }>>): string {
  const rows = Object.entries(exits).sort((a, b) => b[1].trades - a[1].trades);
  return rows
    .map(
      ([why, t], i) =>
        `${EXIT_REASONS[why as ExitReason]} ${t.trades} (${Math.round((t.wins / t.trades) * 100)}%${i === 0 ? ' won' : ''}, ${num(t.net)})`,
    )
    .join(', ');
}

/** One CSV cell. */
export const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
