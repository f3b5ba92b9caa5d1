// Live start-up under faults, through the real `skipper run` (a child process) against the fake
// Binance with the real ccxt: one failed read while starting is retried (the process stays alive
// while it waits, and says what it waits for); a venue that never answers makes start-up give up
// after exchange.startupTimeoutSec with one clear message and a non-zero exit code.
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { generateCsv } from '../../src/market/generator.ts';
import { FakeBinance, type Fault } from '../fakes/exchange/binance.ts';
import { tempDir } from '../helpers/harness.ts';
import { CHILD_KEY, spawnLiveBot, type LiveChild } from '../helpers/live-child.ts';

const fakes: FakeBinance[] = [];
const children: LiveChild[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.stop();
  for (const f of fakes.splice(0)) await f.close();
});

async function start(fault: Omit<Fault, 'times'> & { times?: number }, config: Record<string, unknown> = {}) {
  const dir = tempDir('skipper-startup-');
  const csv = join(dir, 'candles.csv');
  await generateCsv(csv, 200, 3, { startPrice: 30_000, volatility: 0.002 });
  const fake = await new FakeBinance({ type: 'spot', apiKey: CHILD_KEY }).start();
  fakes.push(fake);
  fake.inject({ times: 1, ...fault });
  // Slow replay: the bot is still trading when the test looks at it.
  const child = spawnLiveBot({ fake, dir, csv, config: { data: { speed: 6 }, ...config } });
  children.push(child);
  return { fake, child };
}

const FAULTS: Array<[string, Omit<Fault, 'times'>]> = [
  ['HTTP 500 on openOrders', { kind: 'status', status: 500, method: 'GET', path: '/api/v3/openOrders' }],
  ['HTTP 500 on account', { kind: 'status', status: 500, method: 'GET', path: '/api/v3/account' }],
  ['HTTP 502 on myTrades', { kind: 'status', status: 502, method: 'GET', path: '/api/v3/myTrades', body: '<html>502 Bad Gateway</html>' }],
  ['HTTP 500 on exchangeInfo', { kind: 'status', status: 500, method: 'GET', path: '/api/v3/exchangeInfo' }],
  ['a dropped connection', { kind: 'drop', method: 'GET', path: '/api/v3/openOrders' }],
];

describe('live start-up with one failed read (skipper run against the fake Binance)', () => {
  test('each fault once: retried, said on the console, the process starts and stays up', async () => {
    // All five bots start side by side (each is mostly waiting on the venue).
    const runs = await Promise.all(FAULTS.map(([, fault]) => start(fault)));
    await Promise.all(runs.map(({ child }) => child.waitFor('Type /help', 150_000)));
    await new Promise((r) => setTimeout(r, 3000)); // a few polls later: still up
    for (const [i, { fake, child }] of runs.entries()) {
      const what = FAULTS[i]![0];
      expect(child.alive(), `${what}: still running`).toBe(true);
      const fault = FAULTS[i]![1];
      const hits = fake.find(fault.path, fault.method);
      expect(hits[0]!.outcome, what).toBe(fault.kind); // the fault did hit…
      expect(hits.length, what).toBeGreaterThan(1); // …and the read was made again
      // It said what it was waiting for, before it said it was running.
      const out = child.out();
      expect(out, what).toMatch(/Start-up waits: Binance [a-z ]+: .+; retry 2 of 4 in 0\.25 s/);
      expect(out.indexOf('Start-up waits'), what).toBeLessThan(out.indexOf('Type /help'));
      expect(out, what).toContain('Reconciliation: journal matches the venue');
      const rec = child.query<{ trigger: string; status: string }>('select trigger, status from reconciliations order by id');
      expect(rec[0], what).toEqual({ trigger: 'startup', status: 'ok' });
    }
    for (const { child } of runs) expect((await child.stop()).code).toBe(0);
  }, 240_000);

  test('a venue that keeps failing: start-up gives up after startupTimeoutSec, exits non-zero with a clear message', async () => {
    const { child } = await start(
      { kind: 'status', status: 503, method: 'GET', path: '/api/v3/openOrders', times: Infinity },
      { exchange: { startupTimeoutSec: 15 } },
    );
    const { code } = await child.exited;
    expect(code).toBe(1);
    const out = child.out();
    expect(out).toMatch(/Could not reconcile the journal with the venue on binance \(.*open orders.*\); trying again in \d+ s/);
    expect(out).toMatch(
      /skipper: gave up starting after 15 s: could not reconcile the journal with the venue on binance: .*Binance open orders: .*Nothing was traded/,
    );
    expect(out).not.toContain('Type /help');
    const rec = child.query<{ status: string }>('select status from reconciliations order by id');
    expect(rec.length).toBeGreaterThan(1);
    expect(rec.every((r) => r.status === 'failed')).toBe(true);
    expect(child.query<{ n: number }>('select count(*) n from orders')[0]!.n).toBe(0);
  }, 180_000);
});
