// The offline HTML report of a backtest: one self-contained file, charts as inline SVG, no script,
// and a Content-Security-Policy that forbids every request (it opens the same with no network).
import { writeFileSync } from 'node:fs';
import { EXIT_REASONS, type ExitReason } from '../core/types.ts';
import { CAGR_NA } from '../engine/cagr-span.ts';
import { COLORS } from '../reports/charts.ts';
import { loadSeries } from './data.ts';
import { equityDrawdownOption, svgOf } from './charts.ts';
import { num, paramsText, pct, when } from './print.ts';
import type { RunResult } from './run-config.ts';

const MAX_PRICE_POINTS = 3000;
const MAX_MARKERS = 2000;

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function kv(rows: Array<[string, string]>): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

function grid(headers: string[], rows: string[][]): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** Closes of a symbol over the run's window (evenly thinned), with its fills as buy/sell markers. */
function priceSvg(r: RunResult, symbol: string, path: string | undefined): string {
  const closes: Array<[number, number]> = [];
  if (path) {
    try {
      const all = loadSeries(path).candles.filter((c) => c.ts >= r.from && c.ts <= r.to && Number.isFinite(c.close));
      const step = Math.max(1, Math.ceil(all.length / MAX_PRICE_POINTS));
      for (let i = 0; i < all.length; i += step) closes.push([all[i]!.ts, all[i]!.close]);
    } catch {
      // No price line without the file; the markers still show.
    }
  }
  const fills = r.trades.filter((t) => t.symbol === symbol);
  const thin = Math.max(1, Math.ceil(fills.length / MAX_MARKERS));
  const pick = fills.filter((_, i) => i % thin === 0);
  const marks = (side: 'buy' | 'sell') => pick.filter((t) => t.side === side).map((t) => [t.ts, t.price]);
  return svgOf(
    {
      useUTC: true,
      title: { text: `${symbol}: price and fills`, left: 'center', top: 6, textStyle: { fontSize: 15, color: COLORS.text } },
      legend: { top: 30, data: ['close', 'buy', 'sell'] },
      grid: { left: 80, right: 30, top: 64, bottom: 40 },
      xAxis: { type: 'time', splitLine: { show: false }, axisLabel: { color: COLORS.muted, hideOverlap: true } },
      yAxis: { type: 'value', scale: true, axisLabel: { color: COLORS.muted }, splitLine: { lineStyle: { color: COLORS.grid } } },
      series: [
        { name: 'close', type: 'line', data: closes, showSymbol: false, lineStyle: { color: COLORS.muted, width: 1 } },
        { name: 'buy', type: 'scatter', data: marks('buy'), symbol: 'triangle', symbolSize: 8, itemStyle: { color: COLORS.up } },
        {
          name: 'sell',
          type: 'scatter',
          data: marks('sell'),
          symbol: 'triangle',
          symbolRotate: 180,
          symbolSize: 8,
          itemStyle: { color: COLORS.down },
        },
      ],
    },
    1000,
    380,
  );
}

function monthlyTable(r: RunResult): string {
  const years = [...new Set(r.monthly.map((m) => m.month.slice(0, 4)))];
  const months = ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'];
  const names = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const by = new Map(r.monthly.map((m) => [m.month, m.ret]));
  const cell = (v: number | undefined) => (v === undefined ? '<td></td>' : `<td class="${v >= 0 ? 'up' : 'down'}">${esc(pct(v))}</td>`);
  const rows = years.map((y) => {
    const rets = months.map((m) => by.get(`${y}-${m}`));
    const year = rets.reduce<number | undefined>((a, v) => (v === undefined ? a : (1 + (a ?? 0)) * (1 + v) - 1), undefined);
    return `<tr><th>${y}</th>${rets.map(cell).join('')}${cell(year)}</tr>`;
  });
  return `<table class="monthly"><thead><tr><th></th>${names.map((n) => `<th>${n}</th>`).join('')}<th>Year</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function htmlReport(r: RunResult, o: { title: string; data?: Record<string, string> }): string {
  const m = r.metrics;
  const metrics: Array<[string, string]> = [
    ['start equity', num(m.start_equity)],
    ['final equity', num(r.final_equity)],
    ['total return', pct(m.total_return)],
    ['CAGR', m.cagr === null ? CAGR_NA : pct(m.cagr)],
    ['Sharpe (daily, √365)', num(m.sharpe)],
    ['Sortino', num(m.sortino)],
    ['Calmar', m.calmar === null ? 'n/a' : num(m.calmar)],
    ['max drawdown', pct(m.max_drawdown)],
    ['worst day', pct(r.worst_day)],
    ['longest time under water', `${num(r.time_under_water, 1)} days`],
    ['time under water', pct(r.under_water_fraction, 1)],
    ['trades (round trips)', String(m.trades)],
    ['win rate', pct(m.win_rate, 1)],
    ['profit factor', num(m.profit_factor)],
    ['expectancy', num(m.expectancy)],
    ['exposure', pct(m.exposure, 1)],
    ['fees', num(m.fees)],
    ['fills', String(r.fills)],
    ['bars (rejected)', `${r.bars} (${r.rejected_bars})`],
    ['days', num(m.days, 1)],
    ['breaker trips', String(r.breaker_trips)],
    ['daily-drawdown halts', String(r.halts)],
    ['liquidations', String(r.liquidations.length)],
    ['funding', `${num(r.funding.total)} (${r.funding.payments} payments)`],
  ];
  const rejections = Object.entries(r.rejections).sort((a, b) => b[1] - a[1]);
  const body = [
    `<h1>${esc(o.title)}</h1>`,
    `<p class="sub">${esc(`${r.symbols.join(', ')} · ${r.timeframe} · ${r.strategy} ${paramsText(r.params)} · ${when(r.from)} … ${when(r.to)}`)}</p>`,
    `<section><h2>Metrics</h2>${kv(metrics)}</section>`,
    `<section><h2>Equity and drawdown</h2>${svgOf(equityDrawdownOption(r, 'Equity'), 1000, 520)}</section>`,
    ...r.symbols.map((s) => `<section><h2>${esc(s)}</h2>${priceSvg(r, s, o.data?.[s])}</section>`),
    `<section><h2>Monthly returns</h2>${monthlyTable(r)}</section>`,
    `<section><h2>Per symbol</h2>${grid(
      ['symbol', 'bars', 'rejected', 'fills', 'trades', 'wins', 'net PnL', 'fees', 'open qty'],
      Object.entries(r.per_symbol).map(([s, x]) => [
        s,
        String(x.bars),
        String(x.rejected_bars),
        String(x.fills),
        String(x.trades),
        String(x.wins),
        num(x.net_pnl),
        num(x.fees),
        String(x.open_qty),
      ]),
    )}</section>`,
    `<section><h2>Exits</h2>${
      r.metrics.trades > 0
        ? grid(
            ['closed by', 'trades', 'won', 'net PnL'],
            Object.entries(r.exits)
              .sort((a, b) => b[1].trades - a[1].trades)
              .map(([why, t]) => [EXIT_REASONS[why as ExitReason], String(t.trades), pct(t.wins / t.trades, 0), num(t.net)]),
          )
        : '<p>no closed trades</p>'
    }</section>`,
    `<section><h2>Risk-rule rejections</h2>${
      rejections.length
        ? grid(
            ['rule', 'count'],
            rejections.map(([k, n]) => [k, String(n)]),
          )
        : '<p>none</p>'
    }</section>`,
    `<section><h2>Risk events</h2>${
      r.risk_events.length
        ? grid(
            ['time', 'event', 'detail'],
            r.risk_events.map((e) => [when(e.ts), e.kind, e.message]),
          )
        : '<p>none</p>'
    }</section>`,
    `<section><h2>Liquidations</h2>${
      r.liquidations.length
        ? grid(
            ['time', 'symbol', 'side', 'price', 'qty'],
            r.liquidations.map((t) => [when(t.ts), t.symbol, t.side, String(t.price), String(t.qty)]),
          )
        : '<p>none</p>'
    }</section>`,
  ].join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)}</title>
<style>
body{font-family:'DejaVu Sans',system-ui,sans-serif;color:${COLORS.text};max-width:1040px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid ${COLORS.grid}}
.sub{color:${COLORS.muted};margin:0}table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid ${COLORS.grid};text-align:right}
.kv th,thead th{text-align:left;color:${COLORS.muted};font-weight:normal}.up{color:${COLORS.up}}.down{color:${COLORS.down}}svg{max-width:100%;height:auto}
</style></head><body>
${body}
<p class="sub">Generated by skipper backtest --config: the config's own risk limits, stops and venue settings on the simulated clock.</p>
</body></html>
`;
}

export function writeHtmlReport(path: string, r: RunResult, o: { title: string; data?: Record<string, string> }): void {
  writeFileSync(path, htmlReport(r, o));
}
