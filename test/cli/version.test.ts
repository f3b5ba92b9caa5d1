// `skipper --version` prints package.json's version, the one place it is written.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

describe('skipper --version', () => {
  it("prints package.json's version and exits 0", () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = spawnSync(process.execPath, ['bin/skipper.js', flag], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  }, 90_000);

  it("is a root option only before a subcommand: `models train --version N` is the model's version", () => {
    const r = spawnSync(process.execPath, ['bin/skipper.js', 'models', 'train', '--data', 'none.csv', '--out', 'none', '--version', '0'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--version must be a whole number ≥ 1');
    expect(r.status).toBe(1);
  }, 90_000);
});
