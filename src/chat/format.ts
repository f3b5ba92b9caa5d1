// Small formatting helpers shared by command replies and reports.

export const money = (x: number, ccy = 'USDT'): string =>
  `${x < 0 ? '-' : ''}${Math.abs(x).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${ccy}`;

export const signedMoney = (x: number, ccy = 'USDT'): string => `${x > 0 ? '+' : ''}${money(x, ccy)}`;

export const pct = (x: number, digits = 2): string => `${x > 0 ? '+' : ''}${(x * 100).toFixed(digits)}%`;

export function qty(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Number(x.toPrecision(8)).toString();
}

export function price(x: number): string {
  if (!Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  return x.toLocaleString('en-US', { maximumFractionDigits: a >= 100 ? 2 : a >= 1 ? 4 : 8 });
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export const utc = (ts: number): string => (Number.isFinite(ts) ? new Date(ts).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—');

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

/** Unsigned percent of a fraction: 0.025 → "2.5%" (trailing zeros trimmed). */
export const percent = (x: number, digits = 2): string => (Number.isFinite(x) ? `${Number((x * 100).toFixed(digits))}%` : '—');

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
