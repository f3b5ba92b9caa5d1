// The bot's V8 flags are written once, on bin/skipper.js's first line (the benches read them there:
// BOT_NODE_FLAGS); npm's scripts and the Dockerfile repeat them and must not drift.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOT_NODE_FLAGS } from '../../bench/shipped.ts';
import { PROJECT_ROOT } from '../../src/core/paths.ts';

describe("the bot's V8 flags", () => {
  it('are the same in bin/skipper.js, npm start, npm run skipper and the Dockerfile', () => {
    expect(BOT_NODE_FLAGS).toEqual(['--max-semi-space-size=8']);
    const flags = BOT_NODE_FLAGS.join(' ');
    const { scripts } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.start).toBe(`node ${flags} bin/skipper.js run`);
    expect(scripts.skipper).toBe(`node ${flags} bin/skipper.js`);
    const entrypoint = ['node', ...BOT_NODE_FLAGS, 'bin/skipper.js'].map((a) => JSON.stringify(a)).join(', ');
    expect(readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8')).toContain(`ENTRYPOINT [${entrypoint}]`);
  });
});
