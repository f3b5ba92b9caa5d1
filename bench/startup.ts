// Start-up of fresh processes, as a user meets it: `skipper --help`, and `npm start`'s command on the
// default config (paper venue, SQLite journal, console chat) from spawn to the ready line; an empty
// `node -e 0` in the same rounds is the floor. Rounds are interleaved so load spikes hit all three.
// It times the compiled build (bin/skipper.js runs dist/ when it is fresh): `npm run build` first
// (`npm run bench` does).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PROJECT_ROOT } from '../src/core/paths.ts';
import { BOT_NODE_FLAGS } from './shipped.ts';
import { median } from './data.ts';

export interface StartupBench {
  runs: number;
  /** Medians, ms. */
  nodeMs: number;
  helpMs: number;
  readyMs: number;
  /** The first start, which creates and migrates the journal. */
  firstReadyMs: number;
  /** CPU time (user + system) the bot had used at its ready line, median: less at the mercy of the load. */
  readyCpuMs: number | null;
}

/** The last words of the line bot.ts prints once it runs. */
const READY = 'Type /help for commands.';
const BIN = join(PROJECT_ROOT, 'bin', 'skipper.js');
// Exactly what `npm start` runs (package.json), without npm's own start-up.
const START = [...BOT_NODE_FLAGS, BIN, 'run'];

/** CPU ms (user + system) a live process has used, from /proc (Linux; ticks of 10 ms); null elsewhere. */
function cpuMs(pid: number): number | null {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return null;
  }
}

/** Milliseconds from spawn to `until` on stdout (then SIGTERM), or to the close when `until` is absent. */
function timed(args: string[], cwd: string, until?: string, cpu?: (ms: number | null) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (/^(SKIPPER_|TELEGRAM_|DISCORD_|EXCHANGE_)/.test(k)) delete env[k];
    const t0 = performance.now();
    // stdin stays open: the console chat would stop the bot at its end.
    const p = spawn(process.execPath, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let at: number | undefined;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (until && at === undefined && out.includes(until)) {
        at = performance.now() - t0;
        cpu?.(cpuMs(p.pid!));
        p.kill('SIGTERM');
      }
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      const ms = until ? at : performance.now() - t0;
      if (ms === undefined || (!until && code !== 0)) reject(new Error(`${args.join(' ')}: exit ${code}, no ready line\n${out}${err}`));
      else resolve(ms);
    });
  });
}

export async function benchStartup(runs = 5): Promise<StartupBench> {
  const dir = mkdtempSync(join(tmpdir(), 'skipper-startup-'));
  try {
    const firstReadyMs = await timed(START, dir, READY);
    const node: number[] = [];
    const help: number[] = [];
    const ready: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      node.push(await timed(['-e', '0'], dir));
      help.push(await timed([BIN, '--help'], dir));
      ready.push(await timed(START, dir, READY, (ms) => ms !== null && cpu.push(ms)));
    }
    const readyCpuMs = cpu.length ? median(cpu) : null;
    return { runs, nodeMs: median(node), helpMs: median(help), readyMs: median(ready), firstReadyMs, readyCpuMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchStartup()));
