// The read commands stay fast however big the journal grows: every query they run reads an index
// range of the big tables, never a whole table, and never sorts one (EXPLAIN QUERY PLAN).
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatUser, startBot, type Harness } from '../helpers/harness.ts';
import { ModelJournal } from '../../src/models/predictions-journal.ts';

/** Tables that grow with every candle, order, fill or command. */
const BIG = ['fills', 'orders', 'order_events', 'decisions', 'equity_snapshots', 'commands', 'positions', 'alerts', 'alert_deliveries'];

// Every statement the journal runs, by its SQL (better-sqlite3 statements share one prototype; the
// journal's own wrappers bind to it when they prepare, so this is set before the bot starts).
const ran: string[] = [];
let recording = false;
const proto = Object.getPrototypeOf(new Database(':memory:').prepare('select 1')) as Record<string, unknown>;
for (const m of ['run', 'get', 'all', 'iterate']) {
  const real = proto[m] as (...a: unknown[]) => unknown;
  proto[m] = function (this: { source: string }, ...a: unknown[]) {
    if (recording) ran.push(this.source);
    return real.apply(this, a);
  };
}

describe('read commands on the journal', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startBot({ candles: 3000 });
  });
  afterAll(() => h.stop());

  const plan = (sql: string): string[] =>
    (
      h.bot.journal.sqlite.prepare(`explain query plan ${sql}`).all(...(sql.match(/\?/g) ?? []).map(() => null)) as { detail: string }[]
    ).map((r) => r.detail);

  it.each(['/status', '/positions', '/pnl', '/pnl week', '/pnl month', '/orders', '/trades', '/performance week', '/performance month'])(
    '%s reads index ranges of the big tables: no SCAN, no sort of one',
    async (command) => {
      ran.length = 0;
      recording = true;
      const reply = await h.bot.dispatcher.handleText(chatUser('admin'), command);
      recording = false;
      expect(reply?.text).toBeTruthy();
      const bad: string[] = [];
      for (const sql of new Set(ran)) {
        if (!/^\s*(select|with)/i.test(sql)) continue;
        for (const step of plan(sql)) {
          const t = /^(?:SCAN|SEARCH) (\w+)/.exec(step)?.[1];
          if (t && BIG.includes(t) && /^SCAN /.test(step) && !/COVERING INDEX/.test(step)) bad.push(`${step}  ←  ${sql}`);
        }
        const steps = plan(sql).join(' | ');
        if (/USE TEMP B-TREE FOR ORDER BY/.test(steps) && BIG.some((t) => new RegExp(`(SCAN|SEARCH) ${t}\\b`).test(steps)))
          bad.push(`sorts: ${steps}  ←  ${sql}`);
      }
      expect(bad).toEqual([]);
    },
  );

  it("the reports' per-period model hit rates read a range of the ts index, not every prediction", () => {
    ran.length = 0;
    recording = true;
    new ModelJournal(h.bot.journal.sqlite, 60_000).talliesBetween(0, 86_400_000);
    recording = false;
    const sql = ran.find((x) => /FROM model_predictions WHERE ts >= \?/.test(x))!;
    expect(plan(sql).join(' | ')).toMatch(/SEARCH model_predictions USING INDEX model_predictions_ts \(ts>\? AND ts<\?\)/);
  });
});
