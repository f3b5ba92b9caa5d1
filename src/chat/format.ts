// Layout helpers for command replies and reports. Numbers, durations and times are formatted by
// src/core/format.ts (re-exported here, so a command imports one module).
export { counted, duration, money, pct, percent, price, qty, signedMoney, utc, forMarket } from '../core/format.ts';

/** Left-aligned text table for monospace replies. */
export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const r of all) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  const out = all.map(line);
  if (header) out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out.join('\n');
}

/** "key: value" lines aligned on the colon. */
export function kv(pairs: Array<[string, string]>): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ':').padEnd(w + 1)} ${v}`).join('\n');
}

export const modeWords = (mode: string, environment: string): string =>
  mode === 'live'
    ? environment === 'testnet'
      ? 'LIVE on TESTNET (test money)'
      : 'LIVE — REAL MONEY'
    : mode === 'backtest'
      ? 'backtest'
      : 'paper trading (simulated money)';

/** Byte count in B/KB/MB/GB (1024-based). */
export function bytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
