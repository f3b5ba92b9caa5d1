// Start-up errors through the real CLI (issue 7 items 8 and 9): one clear message naming the config key
// and the file, a non-zero exit, no stack trace; and `skipper config check` reports exactly what
// `skipper run` refuses (one validation path).
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { startupProblems } from '../../src/config/preflight.ts';
import { statOrNull } from '../../src/core/file-checks.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { initJournal } from '../../src/journal/init.ts';
import { Journal } from '../../src/journal/journal.ts';

const dir = mkdtempSync(join(tmpdir(), 'skipper-start-'));
const p = (name: string) => join(dir, name);
const csv = p('ok.csv');
const ready = generateCsv(csv, 300, 3);

interface Run {
  code: number | null;
  /** Set when the process was killed (by the 60 s guard below, or from outside). */
  signal: NodeJS.Signals | null;
  ms: number;
  out: string;
  err: string;
}

function skipper(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['bin/skipper.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t0 = Date.now();
    const kill = setTimeout(() => c.kill('SIGKILL'), 60_000);
    // 'close', not 'exit': both pipes are drained by then, so no late stderr bytes are lost.
    c.on('close', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, ms: Date.now() - t0, out, err });
    });
  });
}

let n = 0;
/** A config (JSON) with its own journal and log, a replay of ok.csv, console off; `over` replaces sections. */
function config(over: Record<string, unknown>): string {
  const name = p(`c${++n}.json`);
  const base = {
    journal: { path: p(`d${n}/j.db`) },
    log: { file: p(`d${n}/l.log`) },
    chat: { console: { enabled: false } },
    data: { source: 'replay', replayFile: csv },
  };
  writeFileSync(name, JSON.stringify({ ...base, ...over }));
  return name;
}

/** A directory nobody can create files in: chmod 555 (non-root), or sysfs (root ignores modes). */
function unwritableDir(): string | null {
  if (process.getuid?.() !== 0) {
    const d = mkdtempSync(join(tmpdir(), 'skipper-ro-'));
    chmodSync(d, 0o555);
    return d;
  }
  return statOrNull('/sys/kernel')?.isDirectory() ? '/sys/kernel' : null;
}

function clean(r: Run): void {
  const how = `exit ${r.code}, signal ${r.signal}, after ${r.ms} ms; stderr: ${r.err}`;
  expect(r.signal, how).toBeNull();
  expect(r.code, how).toBeGreaterThan(0);
  expect(r.err).not.toMatch(/^\s+at /m); // no stack trace
  expect(r.err).not.toContain('sonic boom');
  expect(r.err.trim().split('\n').length, r.err).toBeLessThan(10);
}

/**
 * `skipper run` refuses the config with these lines, and the config check finds the same: through the
 * CLI when `cli` (it costs a process start), else through the function the CLI's check calls.
 */
async function bothRefuse(cfg: string, cli: boolean, ...expected: RegExp[]): Promise<void> {
  const [run, check] = await Promise.all([
    skipper('run', '--config', cfg, '--exit-when-done'),
    cli ? skipper('config', 'check', cfg) : null,
  ]);
  clean(run);
  for (const e of expected) expect(run.err).toMatch(e);
  const lines = run.err.split('\n').filter((l) => l.startsWith('  - '));
  if (check) {
    clean(check);
    expect(check.err).toBe(run.err);
  } else expect(startupProblems(loadConfig(cfg)).map((l) => `  - ${l}`)).toEqual(lines);
}

describe('start-up errors: one clear line per problem, the key named, exit non-zero, no stack', () => {
  it('every problem of one config at once: unknown strategy, bad cron, bad timezone, missing replay, journal and log under a file', async () => {
    await ready;
    writeFileSync(p('afile'), 'x');
    const cfg = config({
      strategy: { name: 'moon' },
      reports: { dailyCron: 'every day', timezone: 'Mars/Olympus' },
      data: { source: 'replay', replayFile: p('nope.csv') },
      journal: { path: p('afile/j.db') },
      log: { file: p('afile/l.log') },
    });
    await bothRefuse(
      cfg,
      true,
      /^\s+- strategy\.name: unknown strategy "moon"; available: bollinger, ema-cross/m,
      /^\s+- reports\.timezone: unknown time zone "Mars\/Olympus"/m,
      /^\s+- reports\.dailyCron: invalid cron pattern "every day"/m,
      new RegExp(`^\\s+- data\\.replayFile: replay file not found: ${p('nope.csv')}$`, 'm'),
      new RegExp(`^\\s+- journal\\.path: cannot create ${p('afile/j.db')}: ${p('afile')} is a file, not a directory$`, 'm'),
      /^\s+- log\.file: cannot create .*afile\/l\.log: .* is a file, not a directory$/m,
      /6 problems/,
    );
  }, 90_000);

  it("a strategy parameter's problems are keyed by the parameter, as the schema's are, all at once", async () => {
    await ready;
    const problems = (params: Record<string, number>) =>
      startupProblems(loadConfig(config({ strategy: { name: 'sma-cross', params } }))).filter((l) => l.startsWith('strategy'));
    expect(problems({ slow: -3 })).toEqual(['strategy.params.slow: sma-cross: slow must be an integer ≥ 2, got -3']);
    expect(problems({ fast: 40, slow: 30 })).toEqual(['strategy.params.fast: sma-cross: fast (40) must be less than slow (30)']);
    // Every wrong parameter at once, one line each.
    expect(problems({ slow: 3.5, bogus: 4, atrStop: -1 }).map((l) => l.split(':')[0])).toEqual([
      'strategy.params.bogus',
      'strategy.params.atrStop',
      'strategy.params.slow',
    ]);
    expect(problems({ bogus: 4 })[0]).toMatch(
      /^strategy\.params\.bogus: sma-cross: unknown parameter "bogus"; accepted parameters: fast, slow/,
    );
  });

  it('a bad timezone is blamed on reports.timezone alone, never on a cron pattern', async () => {
    await ready;
    const r = await skipper('config', 'check', config({ reports: { timezone: 'Nowhere/Land' } }));
    clean(r);
    expect(r.err).toMatch(/1 problem\n\s+- reports\.timezone: /);
    expect(r.err).not.toMatch(/Cron/);
  }, 60_000);

  it('replay files: a directory, an empty file, no header, garbage rows; data.source replay without a file', async () => {
    await ready;
    mkdirSync(p('adir'));
    writeFileSync(p('empty.csv'), '');
    writeFileSync(p('nohdr.csv'), '1700000000000,1,2,0.5,1.5,10\n1700000060000,1,2,0.5,1.5,10\n');
    writeFileSync(p('garbage.csv'), 'timestamp_ms,open,high,low,close,volume\nhello,world\n<html>\n');
    const cases: Array<[string, RegExp]> = [
      [p('adir'), /data\.replayFile: .*adir is a directory, not a candle CSV file/],
      [p('empty.csv'), /data\.replayFile: .*empty\.csv: not a candle CSV: expected the header .* got an empty file/],
      [p('nohdr.csv'), /data\.replayFile: .*nohdr\.csv: not a candle CSV: expected the header/],
      [p('garbage.csv'), /data\.replayFile: .*garbage\.csv: 0 readable candles in its first 2 rows/],
    ];
    for (const [file, re] of cases) await bothRefuse(config({ data: { source: 'replay', replayFile: file } }), false, re);
    // Replay chosen, no file: an error, never a silent poll of live Binance.
    await bothRefuse(config({ data: { source: 'replay' } }), true, /data\.replayFile: required when data\.source is replay/);
  }, 120_000);

  it('journal: a corrupt file, an empty file and a truncated journal are errors naming the file, not a fresh account', async () => {
    await ready;
    writeFileSync(p('garbage.db'), Buffer.alloc(8192, 7));
    writeFileSync(p('empty.db'), '');
    const j = new Journal({ path: p('real.db') });
    for (let i = 0; i < 2000; i++) j.setState(`k${i}`, 'x'.repeat(200), i);
    j.close();
    copyFileSync(p('real.db'), p('cut.db'));
    truncateSync(p('cut.db'), 3 * 4096 + 100);
    await Promise.all([
      bothRefuse(
        config({ journal: { path: p('garbage.db') } }),
        false,
        /journal\.path: .*garbage\.db is not a SQLite database, so not a journal/,
      ),
      bothRefuse(
        config({ journal: { path: p('empty.db') } }),
        false,
        /journal\.path: .*empty\.db is empty \(0 bytes\), not a journal: .*skipper db init/,
      ),
      bothRefuse(config({ journal: { path: p('cut.db') } }), false, /journal\.path: .*cut\.db is damaged/),
    ]);
    // Nothing was created or changed.
    expect(statOrNull(p('empty.db'))!.size).toBe(0);
  }, 120_000);

  it('an unwritable log file and a journal in a read-only directory: the key and the path, checked at start', async () => {
    await ready;
    const ro = unwritableDir();
    if (!ro) return;
    const [log, journal] = await Promise.all([
      skipper('run', '--config', config({ log: { file: join(ro, 'skipper.log') } }), '--exit-when-done'),
      skipper('run', '--config', config({ journal: { path: join(ro, 'skipper', 'j.db') } }), '--exit-when-done'),
    ]);
    clean(log);
    clean(journal);
    expect(log.err).toContain(`log.file: cannot `);
    expect(log.err).toContain(join(ro, 'skipper.log'));
    expect(journal.err).toContain('journal.path: ');
    expect(journal.err).toContain(join(ro, 'skipper'));
  }, 90_000);

  it('a duplicate YAML key is named with its full path and both lines', async () => {
    const f = p('dup.yaml');
    writeFileSync(f, 'mode: paper\nrisk:\n  maxOpenPositions: 3\n  riskPerTrade: 0.02\n  maxOpenPositions: 4\n');
    const r = await skipper('config', 'check', f);
    clean(r);
    expect(r.err).toContain('line 5: duplicate key risk.maxOpenPositions (first on line 3)');
  }, 60_000);

  it('a good config: config check says OK and run starts (the same checks pass)', async () => {
    await ready;
    const cfg = config({});
    const [check, run] = await Promise.all([skipper('config', 'check', cfg), skipper('run', '--config', cfg, '--exit-when-done')]);
    expect(check.code, check.err).toBe(0);
    expect(check.out).toContain('OK');
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain('Type /help');
  }, 90_000);
});

describe('skipper db init: a new account only on purpose', () => {
  it('makes an empty file a journal, creates a missing one, and never touches one with content', () => {
    writeFileSync(p('init-empty.db'), '');
    expect(initJournal(p('init-empty.db'))).toContain('was empty: it is now a new journal');
    new Journal({ path: p('init-empty.db') }).close();
    expect(initJournal(p('init-new/j.db'))).toContain('new journal created');
    expect(() => initJournal(p('init-empty.db'))).toThrow(/already exists .* never overwrites a file with content/);
    writeFileSync(p('init-garbage.db'), 'not a db');
    expect(() => initJournal(p('init-garbage.db'))).toThrow(/never overwrites/);
  });
});
