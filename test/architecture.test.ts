// Structural rules that keep the design honest.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/core/paths.ts';

const filesIn = (dir: string): string[] =>
  readdirSync(join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesIn(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

describe('architecture', () => {
  it('commands are transport-neutral: nothing in commands/ imports grammY or discord.js', () => {
    for (const f of filesIn('commands')) {
      const src = readFileSync(join(PROJECT_ROOT, f), 'utf8');
      expect(src, f).not.toMatch(/from ['"](grammy|@grammyjs\/[^'"]+|discord\.js|@discordjs\/[^'"]+)['"]/);
    }
  });

  it('engine code takes time from the injected clock, not Date.now()', () => {
    const allowed = new Set(['src/core/clock.ts']);
    for (const f of filesIn('src')) {
      if (allowed.has(f) || f.startsWith('src/cli/')) continue;
      const src = readFileSync(join(PROJECT_ROOT, f), 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
      expect(src, f).not.toMatch(/Date\.now\(\)/);
    }
  });

  it('heavy libraries load only when used: ccxt, grammY, discord.js and echarts are not imported at start-up', () => {
    const eager = /^import (?!type)[^;]*from ['"](ccxt|grammy|discord\.js|echarts[^'"]*)['"]/m;
    const entryGraph = [
      'src/app/bot.ts',
      'src/engine/engine.ts',
      'src/cli/main.ts',
      'src/reports/build.ts',
      'src/reports/service.ts',
      'src/exchange/ccxt.ts',
    ];
    for (const f of entryGraph) expect(readFileSync(join(PROJECT_ROOT, f), 'utf8'), f).not.toMatch(eager);
  });
});
