// Memory of a paper replay of 1M candles, sampled from /proc while it runs: must stay flat, < 150 MB.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { generateCsv } from '../src/market/generator.ts';
import { BOT_NODE_FLAGS } from './shipped.ts';

export interface MemoryResult {
  candles: number;
  seconds: number;
  maxRssMb: number;
  /** RSS at 25/50/75/100 % of the run. */
  quartilesMb: number[];
  fills: number;
}

const rssMb = (pid: number): number | null => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
};

export async function benchMemory(candles = 1_000_000): Promise<MemoryResult> {
  const dir = mkdtempSync(join(tmpdir(), 'skipper-mem-'));
  const csv = join(dir, `gen-${candles}.csv`);
  if (!existsSync(csv)) await generateCsv(csv, candles, 3);
  const cfg = join(dir, 'cfg.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      journal: { path: join(dir, 'skipper.db') },
      log: { file: join(dir, 'skipper.log') },
      chat: { console: { enabled: false } },
      risk: { maxConsecutiveLosses: 0 },
    }),
  );
  const t0 = performance.now();
  // Exactly what `npm start` runs.
  const p = spawn(
    process.execPath,
    [...BOT_NODE_FLAGS, 'bin/skipper.js', 'run', '--config', cfg, '--replay', csv, '--speed', 'max', '--exit-when-done'],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  const samples: Array<[number, number]> = [];
  const timer = setInterval(() => {
    const r = rssMb(p.pid!);
    if (r !== null) samples.push([performance.now() - t0, r]);
  }, 100);
  await new Promise((r) => p.on('exit', r));
  clearInterval(timer);
  const seconds = (performance.now() - t0) / 1000;
  if (process.env.MEM_TRACE) console.error(samples.map((x) => x[1].toFixed(0)).join(' '));
  const q = [0.25, 0.5, 0.75, 1].map((f) => samples[Math.min(samples.length - 1, Math.floor(f * (samples.length - 1)))]?.[1] ?? 0);
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(dir, 'skipper.db'), { readonly: true });
  const fills = (db.prepare('select count(*) n from fills').get() as { n: number }).n;
  db.close();
  return { candles, seconds, maxRssMb: Math.max(...samples.map((s) => s[1])), quartilesMb: q, fills };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchMemory(Number(process.argv[2] ?? 1_000_000));
  console.log(JSON.stringify(r));
}
