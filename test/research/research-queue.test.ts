// Sweeps across processes on BullMQ: a real redis-server on a free loopback port, two `skipper worker`
// processes, one SIGKILLed mid-sweep. The results must equal the single-process sweep's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { SimClock } from '../../src/core/clock.ts';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { InlineExecutor } from '../../src/research/jobs.ts';
import { parseParam } from '../../src/research/params.ts';
import { QueueExecutor } from '../../src/research/queue.ts';
import { ResultsStore } from '../../src/research/store.ts';
import { runSweep, type SweepOptions } from '../../src/research/sweep.ts';

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    if (
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .includes('PONG')
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `redis://127.0.0.1:${port}`, proc };
}

/** A `skipper worker` process; resolves once it says it is ready. `lines` collects its stdout. */
function startWorker(url: string): Promise<{ proc: ChildProcess; lines: string[] }> {
  const proc = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin', 'skipper.js'), 'worker', '--queue', url, '--concurrency', '1', '--lock-ms', '2000'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        if (l.startsWith('worker ')) resolve({ proc, lines });
      }
    });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.once('exit', (code) => reject(new Error(`worker exited (${code}): ${err}`)));
  });
}

describe.skipIf(!hasRedis)('sweeps on BullMQ workers', () => {
  let dir: string;
  let csv: string;
  let redis: { url: string; proc: ChildProcess };
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skipper-queue-'));
    csv = join(dir, 'btc_1m.csv');
    await generateCsv(csv, 8_000, 11, { timeframe: '1m', startTs: Date.UTC(2024, 0, 1), volatility: 0.003 });
    redis = await startRedis();
    procs.push(redis.proc);
  });
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const options = (store: ResultsStore, executor: SweepOptions['executor']): SweepOptions => {
    const raw = { market: { timeframe: '1m' }, risk: { maxConsecutiveLosses: 0, minTradeIntervalSec: 0 } };
    return {
      raw,
      base: parseConfig(raw),
      data: { 'BTC/USDT': csv },
      specs: [parseParam('strategy.params.fast=4:10:2'), parseParam('strategy.params.slow=20,30')],
      search: { kind: 'grid' },
      objective: 'sharpe',
      require: [],
      store,
      executor,
      clock: new SimClock(1),
    };
  };

  it('two workers, one SIGKILLed mid-sweep: nothing lost, nothing counted twice, same results as one process', async () => {
    // The workers start (a few seconds) while the single-process sweep runs.
    const workers = Promise.all([startWorker(redis.url), startWorker(redis.url)]);
    const single = new ResultsStore(':memory:');
    const expected = await runSweep(options(single, new InlineExecutor()));
    const [a, b] = await workers;
    procs.push(a.proc, b.proc);
    const store = new ResultsStore(join(dir, 'queue.db'));
    const executor = await QueueExecutor.connect(redis.url);
    // Kill worker A as soon as it has finished one run (it is then holding its next one).
    let killed = false;
    const watch = setInterval(() => {
      if (!killed && a.lines.some((l) => l.startsWith('run '))) {
        a.proc.kill('SIGKILL');
        killed = true;
      }
    }, 20);
    let got;
    try {
      got = await runSweep(options(store, executor));
    } finally {
      clearInterval(watch);
      await executor.close();
    }
    expect(killed).toBe(true);
    expect(got.errors).toEqual([]);
    expect(got.ranking).toEqual(expected.ranking);
    const rows = (s: ResultsStore, id: string) =>
      s
        .runs(id)
        .map((r) => [r.runId, r.figures])
        .sort();
    expect(rows(store, got.sweepId)).toEqual(rows(single, expected.sweepId));
    expect(store.count(got.sweepId)).toBe(8);
    expect(b.lines.filter((l) => l.startsWith('run ')).length).toBeGreaterThan(0);
    store.close();
    single.close();
    b.proc.kill('SIGTERM');
  }, 90_000);

  it('skipper sweep --queue exits by itself once it has printed its results, without a listener-leak warning', async () => {
    const w = await startWorker(redis.url);
    procs.push(w.proc);
    const cfg = join(dir, 'cli.yaml');
    writeFileSync(cfg, 'market: {timeframe: 1m}\nrisk: {maxConsecutiveLosses: 0, minTradeIntervalSec: 0}\n');
    // 12 runs: more waiting at once than an EventEmitter's default limit of 10 listeners.
    const args = ['sweep', '--config', cfg, '--data', `BTC/USDT=${csv}`, '--param', 'strategy.params.fast=2:13:1'];
    const sweep = () =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          [join(PROJECT_ROOT, 'bin', 'skipper.js'), ...args, '--results', join(dir, 'cli.db'), '--queue', redis.url],
          { timeout: 40_000 },
          (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? null) : 0, stdout, stderr }),
        );
        child.stdin?.end();
      });
    const first = await sweep();
    expect(first.code).toBe(0); // hung and killed by the timeout: null
    expect(first.stdout).toMatch(/12 parameter sets; 12 runs now, 0 from/);
    expect(first.stderr).not.toMatch(/MaxListenersExceededWarning/);
    const again = await sweep(); // every run cached: answers at once, and exits
    expect(again.stdout).toMatch(/12 parameter sets; 0 runs now, 12 from/);
    expect(again.code).toBe(0);
    w.proc.kill('SIGTERM');
  }, 120_000);

  it('Redis unreachable, or gone mid-sweep: a clear message, no result rows, resumable', async () => {
    const closed = await freePort();
    await expect(QueueExecutor.connect(`redis://127.0.0.1:${closed}`)).rejects.toThrow(`cannot reach Redis at redis://127.0.0.1:${closed}`);

    const store = new ResultsStore(join(dir, 'gone.db'));
    const executor = await QueueExecutor.connect(redis.url, { graceMs: 1000 });
    // No worker runs: the jobs wait in the queue until Redis goes away.
    const sweep = runSweep(options(store, executor));
    setTimeout(() => redis.proc.kill('SIGKILL'), 500);
    await expect(sweep).rejects.toThrow(
      /lost the connection to Redis at redis:\/\/127\.0\.0\.1:\d+ .* run the same command again to resume/,
    );
    await executor.close();
    expect(store.runs('x')).toEqual([]);
    expect(store.count(sweepIdOfStore(store))).toBe(0);
    store.close();
  }, 30_000);
});

/** The one sweep registered in a results file. */
function sweepIdOfStore(s: ResultsStore): string {
  return (s as unknown as { db: { prepare(q: string): { get(): { sweep_id: string } } } }).db.prepare('select sweep_id from sweeps').get()
    .sweep_id;
}
