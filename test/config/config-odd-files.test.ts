// A config path that is a directory, and a secret's _FILE that cannot be read, are config problems
// (exit 2 through the CLI), said as such, not as bad YAML or an unexpected error.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSecrets } from '../../src/config/env.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { loadConfig } from '../../src/config/load.ts';

describe('odd config inputs', () => {
  it('a directory given as the config', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'skipper-cfgdir-')), 'skipper.yaml');
    mkdirSync(dir);
    expect(() => loadConfig(dir)).toThrow(ConfigError);
    expect(() => loadConfig(dir)).toThrow(/skipper\.yaml: 1 problem\n {2}- a directory, not a config file/);
  });

  it('a secret file that cannot be read', () => {
    const read = () => readSecrets({ TELEGRAM_BOT_TOKEN_FILE: '/nonexistent/token' });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(/- TELEGRAM_BOT_TOKEN_FILE: cannot read \/nonexistent\/token \(ENOENT\)/);
  });
});
