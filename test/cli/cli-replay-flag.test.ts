// A bad --replay file came from the command line: the error says so, not "Config error in cfg.json".
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('a bad --replay file', () => {
  it('is reported as a command-line error naming the flag, exit 2, no stack', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skipper-flag-'));
    const cfg = join(dir, 'cfg.json');
    writeFileSync(
      cfg,
      JSON.stringify({ journal: { path: join(dir, 'j.db') }, log: { file: join(dir, 'l.log') }, chat: { console: { enabled: false } } }),
    );
    const r = spawnSync(
      process.execPath,
      ['bin/skipper.js', 'run', '--config', cfg, '--replay', join(dir, 'nope.csv'), '--exit-when-done'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^Error in the command line: 1 problem\n\s+- --replay: .*nope\.csv/);
    expect(r.stderr).not.toContain('Config error in');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  }, 90_000);
});
