// Restarts: a clean stop/start continues exactly where it left off; a SIGKILL at any instant never
// duplicates an order or loses a fill, and the journal ends equal to the paper venue's books.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateCsv } from '../../src/market/generator.ts';
import { startBot, tempDir } from '../helpers/harness.ts';

const TRADING = { risk: { maxConsecutiveLosses: 0, minTradeIntervalSec: 0 } };

function fillsOf(dbPath: string) {
  const db = new Database(dbPath, { readonly: true });
  const rows = db.prepare('select ts, side, price, qty, fee from fills order by id').all();
  db.close();
  return rows;
}

describe('restart', () => {
  it('stop after half the replay, start again on the whole file: the same trades as one uninterrupted run', async () => {
    const dir = tempDir();
    const full = join(dir, 'full.csv');
    await generateCsv(full, 4000, 11);
    const lines = readFileSync(full, 'utf8').trim().split('\n');
    const half = join(dir, 'half.csv');
    writeFileSync(half, lines.slice(0, 2001).join('\n') + '\n');

    const a = await startBot({ replayFile: full, config: TRADING, dir: tempDir() });
    const expected = fillsOf(a.bot.journal.path);
    const cashA = a.bot.engine.portfolio.cash;
    await a.stop();
    expect(expected.length).toBeGreaterThan(10);

    const b1 = await startBot({ replayFile: half, config: TRADING, dir });
    const mid = b1.bot.journal.count('fills');
    await b1.stop();
    const b2 = await startBot({ replayFile: full, config: TRADING, dir });
    expect(b2.printed()).toContain('journal matches the venue');
    const cashB = b2.bot.engine.portfolio.cash;
    await b2.stop();
    expect(mid).toBeGreaterThan(0);
    expect(fillsOf(join(dir, 'skipper.db'))).toEqual(expected);
    expect(cashB).toBeCloseTo(cashA, 9);
  });

  it('SIGKILL at random instants, restart each time: no order twice, every venue fill journaled once, books equal', async () => {
    const dir = tempDir();
    const csv = join(dir, 'candles.csv');
    await generateCsv(csv, 100_000, 5, { volatility: 0.004 });
    const cfg = join(dir, 'cfg.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        journal: { path: join(dir, 'skipper.db') },
        log: { file: join(dir, 'skipper.log') },
        chat: { console: { enabled: false } },
        data: { source: 'replay', replayFile: csv, speed: 'max' },
        strategy: { name: 'sma-cross', params: { fast: 3, slow: 8 } },
        ...TRADING,
      }),
    );
    const runOnce = (killAfterMs: number | null) =>
      new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, ['bin/skipper.js', 'run', '--config', cfg, '--exit-when-done'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        p.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          // Kill once trading has started, at a random instant.
          if (killAfterMs !== null && out.includes('Type /help')) {
            setTimeout(() => p.kill('SIGKILL'), killAfterMs);
            killAfterMs = null;
          }
        });
        p.stderr.on('data', (d: Buffer) => (out += d.toString()));
        p.on('close', (code, signal) => resolve({ code, signal, out }));
      });

    let rand = 12345;
    const next = () => 30 + ((rand = (rand * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 300;
    let kills = 0;
    for (let i = 0; i < 8; i++) {
      const r = await runOnce(Math.round(next()));
      if (r.signal === 'SIGKILL') kills++;
      else expect(r.code, r.out).toBe(0);
    }
    const last = await runOnce(null);
    expect(last.code, last.out).toBe(0);
    expect(kills).toBeGreaterThanOrEqual(6);

    const db = new Database(join(dir, 'skipper.db'), { readonly: true });
    const q = <T>(sql: string) => db.prepare(sql).all() as T[];
    // Every venue fill is in the journal exactly once, and nothing else is.
    const venue = q<{ trade_id: string }>('select trade_id from paper_fills order by trade_id').map((r) => r.trade_id);
    const journal = q<{ trade_id: string }>("select trade_id from fills where venue = 'paper' order by trade_id").map((r) => r.trade_id);
    expect(journal).toEqual(venue);
    // No client order id reached the venue twice (the venue keys its orders by it), and every venue order is ours.
    const vOrders = q<{ client_order_id: string }>('select client_order_id from paper_orders');
    const jOrders = new Set(q<{ client_order_id: string }>('select client_order_id from orders').map((r) => r.client_order_id));
    for (const o of vOrders) expect(jOrders.has(o.client_order_id)).toBe(true);
    // Cash: journal = venue.
    const flows = q<{ c: number }>('select coalesce(sum(cash_delta),0) c from fills')[0]!.c;
    const start = (
      JSON.parse(q<{ value: string }>("select value from runtime_state where key = 'account'")[0]!.value) as { startingCash: number }
    ).startingCash;
    const bal = q<{ asset: string; free: number; locked: number }>('select * from paper_balances');
    const usdt = bal.find((b) => b.asset === 'USDT')!;
    expect(start + flows).toBeCloseTo(usdt.free + usdt.locked, 6);
    // Positions: journal = venue.
    const jPos = q<{ qty: number }>("select qty from positions where status = 'open'");
    const vPos = q<{ position: string }>('select position from paper_positions')
      .map((r) => JSON.parse(r.position) as { qty: number })
      .filter((p) => p.qty > 0);
    expect(jPos.length).toBe(vPos.length);
    if (jPos.length) expect(jPos[0]!.qty).toBeCloseTo(vPos[0]!.qty, 10);
    // Every restart reconciled; none had to halt.
    const recs = q<{ status: string }>('select status from reconciliations');
    expect(recs.length).toBe(9);
    expect(recs.every((r) => r.status === 'ok' || r.status === 'fixed')).toBe(true);
    db.close();
  }, 120_000);
});
