import { Cron } from 'croner';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { money, pct, signedMoney } from '../../src/chat/format.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { UserError } from '../../src/core/errors.ts';
import { counted } from '../../src/core/format.ts';
import { EXIT_REASONS } from '../../src/core/types.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { Engine, EngineStatus } from '../../src/engine/engine.ts';
import { Journal, type PositionRow } from '../../src/journal/journal.ts';
import { Notifier } from '../../src/chat/transport.ts';
import { buildChartReply, buildHistoryReply, buildTradesReply, renderChart, type ReportSource } from '../../src/reports/build.ts';
import { pngInfo } from '../../src/reports/charts.ts';
import { dayLabel, recentPeriods, Schedule } from '../../src/reports/periods.ts';
import { ReportService, type SentState } from '../../src/reports/service.ts';
import { chatUser, startBot, type Harness } from '../helpers/harness.ts';
import { PNG_SIGNATURE } from '../helpers/png.ts';
import { RecordingTransport } from '../helpers/recording-transport.ts';

const D = (d: number, h = 0, m = 0, s = 0): number => Date.UTC(2024, 0, d, h, m, s);
const DAY = 86_400_000;
const net = (p: PositionRow): number => p.realizedPnl - p.fees;
const isPng = (b: Buffer | undefined): boolean => !!b && b.subarray(0, 8).equals(PNG_SIGNATURE) && pngInfo(b)?.width === 960;

/** Expected numbers, straight from the journal (same definitions as src/reports/stats.ts). */
function expected(j: Journal, start: number, end: number) {
  const anchor = j.equityBefore(start + 1);
  const inside = j.equitySeries(start, end + 1);
  const startEq = anchor?.equity ?? inside[0]!.equity;
  const endEq = inside[inside.length - 1]!.equity;
  const trades = j.closedPositions().filter((p) => p.closedAt! >= start && p.closedAt! < end);
  const fees = j.fills({ since: start, until: end }).reduce((a, f) => a + f.fee, 0);
  const curve = [...(anchor && anchor.ts < start ? [anchor.equity] : []), ...inside.map((s) => s.equity)];
  let peak = -Infinity;
  let dd = 0;
  for (const e of curve) {
    peak = Math.max(peak, e);
    dd = Math.max(dd, (peak - e) / peak);
  }
  return {
    startEq,
    endEq,
    pnl: endEq - startEq,
    trades,
    wins: trades.filter((t) => net(t) > 0).length,
    realized: trades.reduce((a, t) => a + net(t), 0),
    fees,
    dd,
  };
}

describe('reports on a replayed bot', () => {
  let h: Harness;
  let wallNow = D(4, 10); // Thursday 2024-01-04 10:00 UTC, inside the replay's days
  const wall = { now: () => wallNow };
  const rec = new RecordingTransport();

  beforeAll(async () => {
    // ~4 days of 1m candles from Monday 2024-01-01; equity snapshots every 15 min.
    h = await startBot({
      candles: 6000,
      config: { risk: { maxConsecutiveLosses: 0 }, journal: { equityEverySec: 900 } },
      bot: { wallClock: wall },
    });
    await h.bot.reports.idle(); // the reports the replay sent on candle time
    h.bot.notifier.add(rec);
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('ran a replay that trades', () => {
    expect(h.bot.journal.closedPositions().length).toBeGreaterThan(20);
    expect(h.bot.engine.status().now).toBe(D(5, 4)); // 6000 minutes after 2024-01-01 00:00
  });

  it("daily report: the day's PnL, realized, fees, drawdown, trades and an equity chart", async () => {
    const j = h.bot.journal;
    const r = await h.bot.reports.build('daily', D(3)); // period 2024-01-02
    const e = expected(j, D(2), D(3));
    expect(e.trades.length).toBeGreaterThan(0);
    expect(r.title).toBe('Daily report — 2024-01-02 (UTC, replay time)');
    expect(r.mono).toBe(true);
    expect(r.text).toContain(`PnL:        ${signedMoney(e.pnl)} (${pct(e.pnl / e.startEq)})`);
    expect(r.text).toContain(`Equity:     ${money(e.endEq)} (start ${money(e.startEq)})`);
    expect(r.text).toContain(`Realized:   ${signedMoney(e.realized)} (net of fees)`);
    expect(r.text).toContain(`Fees paid:  ${money(e.fees)}`);
    expect(r.text).toContain(`Drawdown:   ${(e.dd * 100).toFixed(2)}% (max in the day)`);
    expect(r.text).toContain(
      `Trades:     ${e.trades.length} closed, ${Math.round((e.wins / e.trades.length) * 100)}% (${e.wins}/${e.trades.length} won)`,
    );
    // The day's last trade is listed with its net PnL.
    const last = e.trades[0]!;
    expect(r.text).toContain(signedMoney(net(last)));
    expect(isPng(r.image?.png)).toBe(true);
    expect(r.image?.filename).toBe('daily-2024-01-02.png');
  });

  it('weekly report (custom cron): PnL, win rate, best/worst day, max drawdown, day table', async () => {
    const j = h.bot.journal;
    // Weeks ending Thursday 00:00, so the week before 2024-01-04 ended before the replay did.
    const svc = new ReportService({ ...h.bot.reports.opts, config: { ...h.bot.config.reports, weeklyCron: '0 0 * * 4' } });
    const r = await svc.build('weekly', D(4));
    const e = expected(j, D(-3), D(4)); // 2023-12-28 .. 2024-01-03
    expect(r.title).toBe('Weekly report — 2023-12-28 – 2024-01-03 (UTC, replay time)');
    expect(r.text).toContain(`PnL:          ${signedMoney(e.pnl)} (${pct(e.pnl / e.startEq)})`);
    expect(r.text).toContain(`Trades:       ${e.trades.length} closed`);
    expect(r.text).toContain(`Win rate:     ${Math.round((e.wins / e.trades.length) * 100)}% (${e.wins}/${e.trades.length} won)`);
    expect(r.text).toContain(`Fees paid:    ${money(e.fees)}`);
    expect(r.text).toContain(`Max drawdown: ${(e.dd * 100).toFixed(2)}%`);
    const days = [1, 2, 3].map((d) => ({ d, pnl: expected(j, D(d), D(d + 1)).pnl }));
    // Day PnLs add up to the week's.
    expect(days.reduce((a, x) => a + x.pnl, 0)).toBeCloseTo(e.pnl, 6);
    // Best: the largest gain, worst: the largest loss; a flat day is neither.
    const up = days.filter((x) => x.pnl > 0);
    const down = days.filter((x) => x.pnl < 0);
    const best = up.reduce<(typeof days)[number] | undefined>((a, b) => (!a || b.pnl > a.pnl ? b : a), undefined);
    const worst = down.reduce<(typeof days)[number] | undefined>((a, b) => (!a || b.pnl < a.pnl ? b : a), undefined);
    expect(best ?? worst, 'the replay has a day up or down').toBeDefined();
    expect(r.text).toContain(`Best day:     ${best ? `${dayLabel(D(best.d), 'UTC')} ${signedMoney(best.pnl)}` : '— (no day up)'}`);
    expect(r.text).toContain(`Worst day:    ${worst ? `${dayLabel(D(worst.d), 'UTC')} ${signedMoney(worst.pnl)}` : '— (no day down)'}`);
    expect(r.text).toContain(`Days up/down: ${up.length} / ${down.length}`);
    // The days before the bot existed are left out (as /daily does), and the report says so.
    expect(r.text).not.toContain('2023-12-28  ');
    expect(r.text).toMatch(/\nMon 2024-01-01 .+\n/);
    expect(r.text).toMatch(/\n\(4 earlier days before the first record left out\)$/);
    expect(r.text).toContain(`Tue 2024-01-02  ${signedMoney(days[1]!.pnl)}`);
    expect(isPng(r.image?.png)).toBe(true);
  });

  it("monthly report: a running month ends at the engine's live equity", async () => {
    const j = h.bot.journal;
    const st = h.bot.engine.status();
    const r = await h.bot.reports.build('monthly', Date.UTC(2024, 1, 1));
    const first = j.equitySeries(0)[0]!.equity;
    const pnl = st.equity - first;
    const trades = j.closedPositions();
    const wins = trades.filter((t) => net(t) > 0).length;
    const fees = j.fills().reduce((a, f) => a + f.fee, 0);
    expect(r.title).toBe('Monthly report — 2024-01 (UTC, replay time)');
    expect(r.text).toContain(`PnL:          ${signedMoney(pnl)} (${pct(pnl / first)})`);
    expect(r.text).toContain(`Equity:       ${money(st.equity)} (start ${money(first)})`);
    expect(r.text).toContain(`Trades:       ${trades.length} closed`);
    expect(r.text).toContain(`Win rate:     ${Math.round((wins / trades.length) * 100)}% (${wins}/${trades.length} won)`);
    expect(r.text).toContain(`Fees paid:    ${money(fees)}`);
    expect(r.image?.filename).toBe('monthly-2024-01-01.png');
  });

  it('charts can be turned off', async () => {
    const svc = new ReportService({ ...h.bot.reports.opts, config: { ...h.bot.config.reports, charts: false } });
    const r = await svc.build('daily', D(3));
    expect(r.image).toBeUndefined();
    expect(r.text).toContain('PnL:');
  });

  it('a replay reports on candle time: one daily report per candle day crossed, each chaining on the last', () => {
    const j = h.bot.journal;
    // The first candle set the baseline (2024-01-01 00:00); each candle midnight then sent the day before.
    expect(j.getState<SentState | null>('report:daily', null)).toMatchObject({ periodEnd: D(5) });
    expect(j.getState<SentState | null>('report:daily', null)?.baseline).toBeUndefined();
    expect(j.getState<SentState | null>('report:weekly', null)).toMatchObject({ periodEnd: D(1), baseline: true }); // Monday
    expect(j.getState<SentState | null>('report:monthly', null)).toMatchObject({ periodEnd: D(1), baseline: true });
    const reports = j
      .recentAlerts(100_000)
      .filter((a) => a.type === 'daily_report')
      .reverse();
    expect(reports.map((r) => r.title)).toEqual([1, 2, 3, 4].map((d) => `Daily report — 2024-01-0${d} (UTC, candle time)`));
    expect(reports.map((r) => r.data)).toEqual(
      [1, 2, 3, 4].map((d) => expect.objectContaining({ periodStart: D(d), periodEnd: D(d + 1) })),
    );
    expect(reports.every((r) => r.delivery === 'none')).toBe(true); // no chat transport in this bot
    const equity = reports.map((r) => {
      expect(r.message).not.toContain('No activity');
      const m = /^Equity:\s+(\S+) USDT \(start (\S+) USDT\)$/m.exec(r.message)!;
      return { end: m[1], start: m[2] };
    });
    expect(equity[0]!.start).toBe(money(j.equitySeries(0)[0]!.equity, '').trim());
    for (let i = 1; i < equity.length; i++) expect(equity[i]!.start, `day ${i + 1}`).toBe(equity[i - 1]!.end);
    for (const [i, r] of reports.entries()) {
      const e = expected(j, D(i + 1), D(i + 2));
      expect(r.message).toContain(`PnL:        ${signedMoney(e.pnl)}`);
      expect(equity[i]!.end).toBe(money(e.endEq, '').trim());
    }
  });

  it('sends a missed daily report once at start-up, never twice, across restarts', async () => {
    const j = h.bot.journal;
    // A live bot (wall clock) on the same journal. Last sent: the report for 2024-01-02 (period
    // ending 01-03); the bot was down at 01-04 00:00.
    j.setState('report:daily', { periodEnd: D(3), at: D(3) } satisfies SentState, wallNow);
    const liveOpts = { ...h.bot.reports.opts, clock: wall, candleTime: false };
    const dailyRows = () => j.recentAlerts(100_000).filter((a) => a.type === 'daily_report');
    const earlier = dailyRows().length;

    const restart = async (): Promise<ReportService> => {
      const svc = new ReportService({ ...liveOpts });
      svc.start();
      await svc.idle();
      svc.stop();
      return svc;
    };
    await restart();
    expect(rec.posts).toHaveLength(1);
    const post = rec.posts[0]!;
    expect(post.topic).toEqual({ type: 'daily_report', severity: 'info' });
    expect(post.reply.title).toBe('Daily report — 2024-01-03 (UTC, replay time)');
    expect(isPng(post.reply.image?.png)).toBe(true);
    expect(j.getState<SentState | null>('report:daily', null)).toMatchObject({ periodEnd: D(4), at: wallNow });
    const rows = dailyRows();
    expect(rows).toHaveLength(earlier + 1);
    expect(rows[0]).toMatchObject({
      delivery: 'sent',
      severity: 'info',
      title: 'Daily report — 2024-01-03 (UTC, replay time)',
      ts: wallNow,
    });
    expect(rows[0]!.data).toMatchObject({ kind: 'daily', periodStart: D(3), periodEnd: D(4) });

    // Restart again the same day: nothing to send.
    await restart();
    expect(rec.posts).toHaveLength(1);

    // The next midnight's cron tick sends 2024-01-04, once.
    wallNow = D(5, 0, 0, 2);
    const svc = new ReportService({ ...liveOpts });
    const sent = await svc.runDue(['daily']);
    expect(sent.map((s) => s.period)).toEqual([{ start: D(4), end: D(5) }]);
    expect(await svc.runDue()).toEqual([]);
    expect(await svc.send('daily', D(5))).toBeNull();
    expect(await svc.sendDaily(D(4))).toBeNull(); // older than the last sent period
    expect(rec.posts.map((p) => p.reply.title)).toEqual([
      'Daily report — 2024-01-03 (UTC, replay time)',
      'Daily report — 2024-01-04 (UTC, replay time)',
    ]);
    expect(dailyRows()).toHaveLength(earlier + 2);

    // Down for a week: only the most recent missed day is sent.
    wallNow = D(12, 9);
    await restart();
    expect(rec.posts.map((p) => p.reply.title).slice(2)).toEqual([
      'Daily report — 2024-01-11 (UTC, replay time)',
      'Weekly report — 2024-01-01 – 2024-01-07 (UTC, replay time)',
    ]);
    wallNow = D(4, 10);
  });

  describe('commands', () => {
    const ask = (text: string) => h.bot.dispatcher.handleText(chatUser('viewer'), text);

    it('/daily 3: a row per day (the last one so far) and the PnL bar chart', async () => {
      const j = h.bot.journal;
      const st = h.bot.engine.status();
      const r = await ask('/daily 3');
      expect(r?.title).toBe('Daily PnL — last 3 days (UTC, replay time)');
      const lines = r!.text.split('\n');
      const d3 = expected(j, D(3), D(4));
      const d4 = expected(j, D(4), D(5));
      const d5 = st.equity - j.equityBefore(D(5) + 1)!.equity;
      expect(lines[2]).toMatch(
        new RegExp(
          `^Wed 2024-01-03\\s+${reEsc(signedMoney(d3.pnl))}\\s+${reEsc(pct(d3.pnl / d3.startEq))}\\s+${d3.trades.length} \\(${d3.wins} won\\)\\s+${reEsc(money(d3.endEq))}$`,
        ),
      );
      expect(lines[3]).toMatch(new RegExp(`^Thu 2024-01-04\\s+${reEsc(signedMoney(d4.pnl))}`));
      expect(lines[4]).toMatch(new RegExp(`^Fri 2024-01-05\\*\\s+${reEsc(signedMoney(d5))}`));
      expect(r!.text).toContain('* so far, up to 2024-01-05 04:00');
      expect(isPng(r!.image?.png)).toBe(true);
      expect(r!.image?.filename).toBe('pnl-day-2024-01-05.png');
    });

    it('/weekly and /monthly: periods before the first record are left out', async () => {
      const j = h.bot.journal;
      const total = h.bot.engine.status().equity - j.equitySeries(0)[0]!.equity;
      const w = await ask('/weekly');
      expect(w?.title).toBe('Weekly PnL — last 4 weeks (UTC, replay time)');
      expect(w!.text).toMatch(new RegExp(`^2024-01-01\\*\\s+${reEsc(signedMoney(total))}`, 'm'));
      expect(w!.text).toContain('(3 earlier weeks before the first record left out)');
      expect(isPng(w!.image?.png)).toBe(true);
      const m = await ask('/monthly 2');
      expect(m?.title).toBe('Monthly PnL — last 2 months (UTC, replay time)');
      expect(m!.text).toMatch(new RegExp(`^2024-01\\*\\s+${reEsc(signedMoney(total))}`, 'm'));
      expect(m!.text).toContain(`Total: ${signedMoney(total)}; ${counted(j.closedPositions().length, 'trade')}`);
    });

    it('/trades 5: the last five closed trades, newest first', async () => {
      const latest = h.bot.journal.closedPositions({ limit: 5 });
      const r = await ask('/trades 5');
      expect(r?.title).toBe('Last 5 closed trades (UTC, replay time)');
      const lines = r!.text.split('\n');
      expect(lines[0]).toMatch(/^symbol\s+side\s+qty\s+entry\s+exit\s+by\s+net PnL\s+held\s+opened\s+closed\s+id$/);
      expect(lines.slice(2, 7)).toHaveLength(5);
      latest.forEach((t, i) => {
        expect(lines[2 + i]).toContain(t.symbol);
        expect(lines[2 + i]).toContain(signedMoney(net(t)));
        expect(lines[2 + i]).toContain(` ${EXIT_REASONS[t.exitReason!]} `);
      });
      expect(r!.text).toContain(`Net: ${signedMoney(latest.reduce((a, t) => a + net(t), 0))}`);
      expect((await ask('/trades'))!.text.split('\n').filter((l) => l.startsWith('BTC/USDT'))).toHaveLength(10);
    });

    it('/chart pnl 7d and /chart reply with a PNG', async () => {
      const r = await ask('/chart pnl 7d');
      expect(r?.title).toBe('Daily PnL — last 7 days');
      expect(isPng(r?.image?.png)).toBe(true);
      expect(r?.image?.filename).toBe('pnl-7d-2024-01-05.png');
      expect(r?.image?.caption).toBeUndefined(); // the title says it: no caption repeating it
      const e = await ask('/chart');
      expect(e?.title).toBe('Equity — last 30 days');
      expect(isPng(e?.image?.png)).toBe(true);
      expect(e?.text).toContain(`→ ${money(h.bot.engine.status().equity)}`);
      const all = await ask('/chart equity all');
      expect(isPng(all?.image?.png)).toBe(true);
      // The ReportControls entry point gives the same kind of PNG.
      expect(isPng((await h.bot.reports.chart('pnl', 3)) ?? undefined)).toBe(true);
    });

    it('bad arguments get the usage message and change nothing', async () => {
      const j = h.bot.journal;
      const before = { alerts: j.count('alerts'), daily: j.getState('report:daily', null), posts: rec.posts.length };
      const cases: Array<[string, string]> = [
        ['/daily 0', 'Usage: /daily [n]'],
        ['/daily 91', 'Usage: /daily [n]'],
        ['/daily x', 'Usage: /daily [n]'],
        ['/weekly 2.5', 'Usage: /weekly [n]'],
        ['/trades 51', 'Usage: /trades [n]'],
        ['/chart foo', 'Usage: /chart [equity|pnl]'],
        ['/chart pnl 5y', 'Usage: /chart [equity|pnl]'],
        ['/monthly 1 2', 'Usage: /monthly [n]'],
      ];
      for (const [cmd, use] of cases) {
        const r = await ask(cmd);
        expect(r?.text, cmd).toContain(use);
        expect(r?.image, cmd).toBeUndefined();
        expect(r?.severity).toBe('warning');
      }
      expect(j.recentCommands(cases.length).every((c) => c.outcome === 'invalid')).toBe(true);
      expect({ alerts: j.count('alerts'), daily: j.getState('report:daily', null), posts: rec.posts.length }).toEqual(before);
    });
  });
});

/** An engine status with nothing blocking and nothing unprotected, `over` on top. */
const statusOf = (over: Partial<EngineStatus>): EngineStatus =>
  ({ blocked: null, pausedSymbols: {}, unprotected: [], ...over }) as EngineStatus;

const reEsc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Reports on a bare journal, the engine's status given (its `now` is the report clock). */
const journalReports = (journal: Journal, status: EngineStatus, config: Config['reports']): ReportService =>
  new ReportService({
    journal,
    engine: { status: () => status } as unknown as Engine,
    notifier: new Notifier(() => {}),
    clock: { now: () => status.now },
    log: silentLogger(),
    config,
  });

describe('a flat week', () => {
  it('has no best or worst day: "Best day: 0.00" would read as a gain', async () => {
    const journal = Journal.memory();
    for (let d = 1; d <= 7; d++) journal.recordEquity(D(d), 10_000, 10_000, 0, 0);
    const status = statusOf({ now: D(8), equity: 10_000, unrealizedPnl: 0 });
    const svc = journalReports(journal, status, { ...parseConfig({}).reports, weeklyCron: '0 0 * * 1' });
    const r = await svc.build('weekly', D(8));
    expect(r.text).toContain('Best day:     — (no day up)');
    expect(r.text).toContain('Worst day:    — (no day down)');
    expect(r.text).toContain('Days up/down: 0 / 0');
    journal.close();
  });
});

describe('the morning report says what needs attention now', () => {
  it('entries blocked, a symbol paused, a position without its stop: listed every morning; nothing when all is well', async () => {
    const journal = Journal.memory();
    for (let h = 0; h < 24; h++) journal.recordEquity(D(1) + h * 3_600_000, 10_000 + h, 10_000, 0, 0);
    const cfg = parseConfig({ reports: { charts: false } }).reports;
    const calm = await journalReports(journal, statusOf({ now: D(2), equity: 10_023, unrealizedPnl: 0 }), cfg).build('daily', D(2));
    expect(calm.text).not.toContain('Needs attention');
    expect(calm.severity).toBe('info');
    const troubled = statusOf({
      now: D(2),
      equity: 10_023,
      unrealizedPnl: 0,
      blocked: 'circuit breaker tripped (5 losing trades in a row (limit 5))',
      pausedSymbols: { 'ETH/USDT': { by: 'ada', at: D(1) } },
      unprotected: [{ symbol: 'BTC/USDT', detail: 'stop-loss refused by the venue' }] as EngineStatus['unprotected'],
    });
    const r = await journalReports(journal, troubled, cfg).build('daily', D(2));
    expect(r.severity).toBe('warning');
    expect(r.text).toMatch(
      /\n\nNeeds attention now:\n- Entries blocked: circuit breaker tripped \(5 losing trades in a row \(limit 5\)\)\n- Paused on their own: ETH\/USDT by ada since \d{4}-\d\d-\d\d 00:00 UTC\n- UNPROTECTED BTC\/USDT: stop-loss refused by the venue$/,
    );
    // A day without activity still says it (a paused bot has nothing else to report).
    const idle = await journalReports(journal, { ...troubled, now: D(5) }, cfg).build('daily', D(5));
    expect(idle.text).toMatch(/^No activity: .*\n\nNeeds attention now:\n- Entries blocked: /);
    journal.close();
  });
});

describe('reports with no data', () => {
  const status = statusOf({ now: 0, equity: 10_000, unrealizedPnl: 0 });
  const journal = Journal.memory();
  const src: ReportSource = { journal, engine: { status: () => status }, timezone: 'UTC', charts: true, wallNow: () => D(10) };

  afterAll(() => journal.close());

  it('commands say so instead of drawing empty charts', async () => {
    expect((await buildHistoryReply(src, 'day', 7)).text).toContain('No trading data yet');
    expect(buildTradesReply(src, 10).text).toBe('No closed trades yet.');
    const c = await buildChartReply(src, 'equity', 30);
    expect(c.image).toBeUndefined();
    expect(c.text).toContain('No equity snapshots in this period yet');
    const all = await renderChart(src, 'pnl', null);
    expect(all.png).toBeNull();
    expect(all.summary).toContain('No data yet');
  });

  it('a report for a period without snapshots or trades says "no activity"; chart() gives null', async () => {
    const svc = new ReportService({
      journal,
      engine: src.engine as unknown as Engine,
      notifier: new Notifier(() => {}),
      clock: { now: () => D(10) },
      log: silentLogger(),
      config: parseConfig({}).reports,
    });
    const r = await svc.build('daily', D(10));
    expect(r.text).toContain('No activity');
    expect(r.image).toBeUndefined();
    expect(await svc.chart('equity', 30)).toBeNull();
  });

  it('one snapshot: a one-point equity chart; missing snapshots fall back to realized PnL', async () => {
    journal.recordEquity(D(9, 12), 10_000, 10_000, 0, 0);
    const c = await buildChartReply(src, 'equity', 7);
    expect(isPng(c.image?.png)).toBe(true);
    // A trade closed on a day with no equity snapshot: that day's PnL is its realized net PnL.
    const id = journal.openPosition({
      symbol: 'BTC/USDT',
      side: 'long',
      qty: 1,
      entryPrice: 100,
      leverage: 1,
      margin: 100,
      realizedPnl: 0,
      fees: 0,
      openedAt: D(11, 1),
      markPrice: 100,
      unrealizedPnl: 0,
    });
    journal.closePosition(
      id,
      {
        symbol: 'BTC/USDT',
        side: 'long',
        qty: 0,
        entryPrice: 100,
        leverage: 1,
        margin: 0,
        realizedPnl: 12,
        fees: 0.5,
        openedAt: D(11, 1),
        markPrice: 112,
        unrealizedPnl: 0,
      },
      112,
      D(11, 2),
      'signal',
    );
    const svc = new ReportService({
      journal,
      engine: src.engine as unknown as Engine,
      notifier: new Notifier(() => {}),
      clock: { now: () => D(12) },
      log: silentLogger(),
      config: parseConfig({}).reports,
    });
    const r = await svc.build('daily', D(12));
    expect(r.text).toContain('PnL:        +11.50 USDT realized (no equity snapshots)');
    // Prices in the market's tick, as /positions and the alerts write them: 100.00, not 100.
    const ticked: ReportSource = { ...src, engine: { ...src.engine, marketInfo: () => ({ priceStep: 0.01, qtyStep: 0.001 }) } };
    expect(buildTradesReply(ticked, 10).text).toMatch(/BTC\/USDT\s+long\s+1\s+100\.00\s+112\.00\s+signal/);
  });
});

describe('consecutive reports chain', () => {
  it("an ended period ends at its last snapshot, where the next one starts, even when the engine's now is that period's end", async () => {
    const journal = Journal.memory();
    journal.recordEquity(D(1), 10_000, 10_000, 0, 0);
    journal.recordEquity(D(1, 12), 10_100, 10_100, 0, 0);
    // The engine has moved on to 10,500 at exactly midnight, without a snapshot there yet.
    const status = statusOf({ now: D(2), equity: 10_500, unrealizedPnl: 0 });
    const svc = journalReports(journal, status, parseConfig({ reports: { charts: false } }).reports);
    const day1 = await svc.build('daily', D(2));
    status.now = D(2, 6);
    journal.recordEquity(D(2, 6), 10_500, 10_500, 0, 0);
    const day2 = await svc.build('daily', D(3));
    expect(day1.text).toContain(`Equity:     ${money(10_100)} (start ${money(10_000)})`);
    expect(day2.text).toContain(`Equity:     ${money(10_500)} (start ${money(10_100)})`);
    journal.close();
  });
});

describe('periods and schedules', () => {
  it('calendar days follow the timezone, DST included', () => {
    const berlin = recentPeriods('day', 2, Date.UTC(2024, 0, 3, 12), 'Europe/Berlin');
    expect(berlin).toEqual([
      { start: Date.UTC(2024, 0, 1, 23), end: Date.UTC(2024, 0, 2, 23) },
      { start: Date.UTC(2024, 0, 2, 23), end: Date.UTC(2024, 0, 3, 12), partial: true },
    ]);
    // 2024-03-31 in Berlin has 23 hours.
    const [dst] = recentPeriods('day', 2, Date.UTC(2024, 3, 1, 12), 'Europe/Berlin');
    expect(dst!.end - dst!.start).toBe(DAY - 3_600_000);
    expect(recentPeriods('week', 1, D(4, 10), 'UTC')).toEqual([{ start: D(1), end: D(4, 10), partial: true }]);
  });

  it('a report covers the previous scheduled time up to this one', () => {
    const svc = new ReportService({
      journal: Journal.memory(),
      engine: {} as Engine,
      notifier: new Notifier(() => {}),
      clock: { now: () => D(4, 10) },
      log: silentLogger(),
      config: parseConfig({ reports: { dailyCron: '0 8 * * *', timezone: 'America/New_York' } }).reports,
    });
    // 08:00 New York = 13:00 UTC in January.
    expect(svc.latestDue('daily')).toBe(D(3, 13));
    expect(svc.periodEndingAt('daily', D(3, 13))).toEqual({ start: D(2, 13), end: D(3, 13) });
    expect(svc.latestDue('monthly')).toBe(D(1, 5));
    expect(new Schedule('0 0 * * *', 'UTC').atOrBefore(D(4))).toBe(D(4));
  });

  it("a schedule's remembered gaps answer as croner does, across DST changes", () => {
    // Uncached answers straight from croner, against the same Schedule asked in a random order.
    const patterns = ['0 0 * * *', '30 2 * * 0', '0 0 1 * *', '0 8 * * 1-5'];
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'];
    const lo = Date.UTC(2024, 2, 1);
    const hi = Date.UTC(2024, 11, 1);
    fc.assert(
      fc.property(
        fc.constantFrom(...patterns),
        fc.constantFrom(...zones),
        fc.array(fc.tuple(fc.constantFrom('atOrBefore', 'before', 'after'), fc.integer({ min: lo, max: hi })), { maxLength: 40 }),
        (pattern, zone, asks) => {
          const cached = new Schedule(pattern, zone);
          const cron = new Cron(pattern, { timezone: zone });
          const truth = {
            atOrBefore: (t: number) => cron.previousRuns(1, new Date(t + 1))[0]?.getTime() ?? null,
            before: (t: number) => cron.previousRuns(1, new Date(t))[0]?.getTime() ?? null,
            after: (t: number) => cron.nextRun(new Date(t))?.getTime() ?? null,
          };
          for (const [ask, t0] of asks) {
            // Every other ask lands on an instant or next to one: the edges of the gaps.
            const edge = truth.after(t0)!;
            for (const t of [t0, edge, edge - 1, edge + 1]) expect(cached[ask](t)).toBe(truth[ask](t));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a bad cron or timezone fails at start-up with the config key', () => {
    const make = (reports: Record<string, unknown>) =>
      new ReportService({
        journal: Journal.memory(),
        engine: {} as Engine,
        notifier: new Notifier(() => {}),
        clock: { now: () => 0 },
        log: silentLogger(),
        config: parseConfig({ reports }).reports,
      });
    expect(() => make({ weeklyCron: 'every monday' })).toThrow(UserError);
    expect(() => make({ weeklyCron: 'every monday' })).toThrow(/reports\.weeklyCron/);
    expect(() => make({ timezone: 'Mars/Olympus' })).toThrow(/Mars\/Olympus/);
  });
});

describe('a report a transport fails to take', () => {
  /** A transport that throws on its first `failures` broadcasts (Telegram's 429 past auto-retry). */
  const flaky = (name: 'telegram' | 'console', failures: number) => {
    const t = {
      name,
      posted: 0,
      start: async () => {},
      stop: async () => {},
      edit: async () => {},
      broadcast: async () => {
        if (failures-- > 0) throw new Error('Too Many Requests: retry after 50');
        t.posted++;
        return [{ transport: name, chatId: '1', messageId: String(t.posted) }];
      },
    };
    return t;
  };

  it('is journaled as failed on that transport and posted to it again later, until it takes it', async () => {
    const journal = Journal.memory();
    const status = statusOf({ now: D(2, 0, 5), equity: 10_000, unrealizedPnl: 0 });
    const notifier = new Notifier(() => {});
    const telegram = flaky('telegram', 2);
    const console_ = flaky('console', 0);
    notifier.add(telegram as never);
    notifier.add(console_ as never);
    const svc = new ReportService({
      journal,
      engine: { status: () => status } as unknown as Engine,
      notifier,
      clock: { now: () => status.now },
      log: silentLogger(),
      config: { ...parseConfig({}).reports, charts: false },
      retryMs: [10, 10, 10],
    });
    await svc.sendDaily(D(2));
    const row = () => journal.recentAlerts(5).find((a) => a.type === 'daily_report')!;
    expect(row().delivery).toBe('partial');
    expect(journal.alertDeliveries(row().id).map((d) => [d.channel, d.status])).toEqual([
      ['telegram', 'failed'],
      ['console', 'sent'],
    ]);
    expect(journal.alertDeliveries(row().id)[0]!.detail).toContain('Too Many Requests');
    for (let i = 0; i < 50 && telegram.posted === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await svc.idle();
    expect(telegram.posted).toBe(1); // the third try took it
    expect(console_.posted).toBe(1); // the transport that took it first is not posted to again
    expect(journal.alertDeliveries(row().id).map((d) => d.status)).toEqual(['failed', 'sent', 'failed', 'sent']);
    expect(row().delivery).toBe('sent');
    svc.stop();
    journal.close();
  });
});
