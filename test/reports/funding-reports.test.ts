// Funding payments (perps) move the equity without being any trade's realized PnL: /pnl and the period
// reports show them on a line of their own, so the lines under "PnL" add up; spot accounts get no such line.
import { afterEach, describe, expect, it } from 'vitest';
import pnl from '../../commands/pnl.ts';
import type { CommandContext } from '../../src/chat/command.ts';
import { money, signedMoney } from '../../src/chat/format.ts';
import type { EngineStatus } from '../../src/engine/engine.ts';
import { Journal } from '../../src/journal/journal.ts';
import { buildPeriodReport, buildTradesReply, type ReportSource } from '../../src/reports/build.ts';

const D = (d: number, h = 0, m = 0): number => Date.UTC(2024, 0, d, h, m);
const START = 10_000;
const FEE = 0.6;
const FUNDING = -2.99;

let journal: Journal;
afterEach(() => journal.close());

/** A perp short opened and closed flat on Jan 1 (its fees 0.60), and funding of −2.99 paid while it was open. */
function account(withFunding: boolean): Journal {
  const j = Journal.memory();
  j.recordEquity(D(1), START, START, 0, 0);
  const pos = { symbol: 'BTC/USDT', side: 'short' as const, qty: 0.01, entryPrice: 30_000, leverage: 1, margin: 300, openedAt: D(1, 1) };
  const id = j.openPosition({ ...pos, realizedPnl: 0, fees: 0.3, markPrice: 30_000, unrealizedPnl: 0 });
  if (withFunding) j.recordFunding({ venue: 'bybit', paymentId: 'f1', symbol: 'BTC/USDT', amount: FUNDING, rate: 0.01, ts: D(1, 8) });
  j.closePosition(
    id,
    { ...pos, qty: 0, margin: 0, realizedPnl: 0, fees: FEE, markPrice: 30_000, unrealizedPnl: 0 },
    30_000,
    D(1, 9),
    'manual',
  );
  j.recordEquity(D(1, 12), equityAfter(withFunding), equityAfter(withFunding), 0, 0);
  return j;
}
const equityAfter = (withFunding: boolean): number => START - FEE + (withFunding ? FUNDING : 0);

function source(j: Journal, now: number, equity: number): ReportSource {
  const status = {
    now,
    equity,
    unrealizedPnl: 0,
    positions: [],
    unprotected: [],
    blocked: null,
    pausedSymbols: {},
  } as unknown as EngineStatus;
  return { journal: j, engine: { status: () => status }, timezone: 'UTC', charts: false, wallNow: () => now };
}

async function pnlReply(j: Journal, now: number, equity: number): Promise<string> {
  const src = source(j, now, equity);
  const services = { journal: j, engine: { ...src.engine, startingCash: START, clockKind: 'wall' } };
  const r = await pnl.run({ args: { period: 'day' }, services } as unknown as CommandContext);
  return r.text;
}

describe('funding in the PnL figures', () => {
  it('the daily and weekly reports have a Funding line: the day lost 3.59, of which 2.99 funding', async () => {
    journal = account(true);
    const src = source(journal, D(2, 6), equityAfter(true));
    const day = await buildPeriodReport(src, 'daily', { start: D(1), end: D(2) });
    expect(day.text).toContain(`PnL:        ${signedMoney(FEE * -1 + FUNDING)}`);
    expect(day.text).toContain(`Funding:    ${signedMoney(FUNDING)} (paid, not in realized)`);
    const week = await buildPeriodReport(src, 'weekly', { start: D(1), end: D(8) });
    expect(week.text).toMatch(new RegExp(`Funding:\\s+${signedMoney(FUNDING).replace('+', '\\+')} \\(paid, not in realized\\)`));
  });

  it('/pnl shows the funding and leaves no gap to explain; on a spot account there is no Funding line', async () => {
    journal = account(true);
    const text = await pnlReply(journal, D(1, 13), equityAfter(true));
    expect(text).toMatch(/Funding:\s+-2\.99 USDT \(paid, not in realized\)/);
    expect(text).toMatch(/Equity change:\s+-3\.59 USDT/);
    expect(text).not.toContain('Equity change − realized − unrealized');
    journal.close();

    journal = account(false);
    const spot = await pnlReply(journal, D(1, 13), equityAfter(false));
    expect(spot).not.toContain('Funding');
    expect(spot).toContain(`Equity now:     ${money(START - FEE)}`);
    const day = await buildPeriodReport(source(journal, D(2, 6), equityAfter(false)), 'daily', { start: D(1), end: D(2) });
    expect(day.text).not.toContain('Funding');
  });

  it("/trades and the report's trade table show the funding a trade paid while open; no column without funding", async () => {
    journal = account(true);
    // Funding on another symbol, and on BTC after the trade closed, is not the trade's.
    journal.recordFunding({ venue: 'bybit', paymentId: 'f2', symbol: 'ETH/USDT', amount: -1, ts: D(1, 8) });
    journal.recordFunding({ venue: 'bybit', paymentId: 'f3', symbol: 'BTC/USDT', amount: -5, ts: D(1, 16) });
    const src = source(journal, D(2, 6), equityAfter(true));
    const header = /net PnL\s+funding\s+held/;
    const t1 = /BTC\/USDT\s+short\s+.*-0\.60 USDT\s+-2\.99 USDT\s+8 h/;
    expect(buildTradesReply(src, 10).text).toMatch(header);
    expect(buildTradesReply(src, 10).text).toMatch(t1);
    expect((await buildPeriodReport(src, 'daily', { start: D(1), end: D(2) })).text).toMatch(t1);
    journal.close();

    journal = account(false);
    expect(buildTradesReply(source(journal, D(2, 6), equityAfter(false)), 10).text).not.toContain('funding');
  });

  it('funding beside an open trade still leaves its entry fee to explain, and the note counts the funding out', async () => {
    journal = Journal.memory();
    journal.recordEquity(D(1), START, START, 0, 0);
    journal.recordFunding({ venue: 'bybit', paymentId: 'f1', symbol: 'BTC/USDT', amount: FUNDING, ts: D(1, 8) });
    const text = await pnlReply(journal, D(1, 13), START + FUNDING - 0.3);
    expect(text).toMatch(/\nEquity change − realized − unrealized − funding: -0\.30 USDT \(open trades' entry fees/);
  });
});
