// Structural rules that keep the design honest.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/core/paths.ts';
import { filesIn, importsOf, loadedAtStart } from './helpers/import-graph.ts';

const read = (f: string): string => readFileSync(join(PROJECT_ROOT, f), 'utf8');
const code = (f: string): string => read(f).replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
/** The folder of src/ a file lives in (src/engine/x.ts → engine); null for files outside one. */
const folderOf = (f: string): string | null => {
  const p = f.split('/');
  return p[0] === 'src' && p.length > 2 ? p[1]! : null;
};
const tree = ['src', 'test', 'bench', 'scripts', 'commands'].filter((d) => existsSync(join(PROJECT_ROOT, d))).flatMap(filesIn);

describe('architecture', () => {
  it("the benches' compiled-module paths (shipped('src/…')) name source files that exist", () => {
    const named = filesIn('bench').flatMap((f) =>
      [...readFileSync(join(PROJECT_ROOT, f), 'utf8').matchAll(/shipped<[^>]*>\('([^']+)'\)/g)].map((m) => m[1]!),
    );
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((p) => !existsSync(join(PROJECT_ROOT, p)))).toEqual([]);
  });

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

  it('heavy libraries load only when used: nothing reachable by static imports from the CLI entry loads them', () => {
    // `skipper run` and `skipper backtest --help` load src/cli/main.ts and what it imports statically;
    // each heavy library must sit behind an import() on the path that needs it.
    const heavy = ['ccxt', 'grammy', 'discord.js', 'echarts', '@resvg/resvg-js', 'onnxruntime-node', 'bullmq', 'piscina'];
    const loaded = loadedAtStart('src/cli/main.ts');
    expect(loadedAtStart('src/app/bot.ts').size).toBeGreaterThan(50); // the walk follows the real graph
    for (const lib of heavy) expect(loaded.get(lib)?.join(' → '), lib).toBeUndefined();
  });

  it('a paper bot reaches its ready line without ccxt: the live feed and the real venues load it on first use', () => {
    const loaded = loadedAtStart('src/app/bot.ts');
    for (const lib of ['ccxt', 'grammy', 'discord.js', 'onnxruntime-node']) expect(loaded.get(lib)?.join(' → '), lib).toBeUndefined();
  });

  it('`skipper --help` loads no config, ORM or journal stack: each command imports what it needs', () => {
    const loaded = loadedAtStart('src/cli/main.ts');
    expect(loaded.has('commander')).toBe(true);
    for (const lib of ['zod', 'yaml', 'drizzle-orm', 'better-sqlite3', 'pino', 'croner'])
      expect(loaded.get(lib)?.join(' → '), lib).toBeUndefined();
  });

  it('no import cycle between the folders of src/ (type-only imports count too)', () => {
    const edges = new Map<string, Map<string, string>>();
    for (const f of filesIn('src')) {
      const a = folderOf(f);
      if (!a) continue;
      for (const e of importsOf(f)) {
        const b = e.to.endsWith('.ts') ? folderOf(e.to) : null;
        if (!b || b === a) continue;
        if (!edges.has(a)) edges.set(a, new Map());
        if (!edges.get(a)!.has(b)) edges.get(a)!.set(b, `${f} → ${e.to}`);
      }
    }
    // A path back from b to a, if any (depth-first).
    const pathTo = (from: string, to: string, seen = new Set<string>()): string[] | null => {
      if (from === to) return [];
      seen.add(from);
      for (const [next, why] of edges.get(from) ?? []) {
        if (seen.has(next)) continue;
        const rest = pathTo(next, to, seen);
        if (rest) return [why, ...rest];
      }
      return null;
    };
    const cycles: string[] = [];
    for (const [a, outs] of edges)
      for (const [b, why] of outs) {
        const back = pathTo(b, a);
        if (back) cycles.push([why, ...back].join('\n  '));
      }
    expect(cycles).toEqual([]);
  });

  it('the kernel is the only place an Engine is built (src, test, bench, scripts)', () => {
    const sites = tree.filter((f) => /\bnew Engine\(/.test(code(f)));
    expect(sites).toEqual(['src/app/kernel.ts']);
  });

  it('no source file is over 700 lines', () => {
    const long = filesIn('src').filter((f) => read(f).split('\n').length > 700);
    expect(long).toEqual([]);
  });

  it('runtime_state is read and written only through the typed keys of src/journal/state-keys.ts', () => {
    const allowed = new Set(['src/journal/state-keys.ts', 'src/journal/db.ts', 'src/journal/statements.ts']);
    for (const f of [...filesIn('src'), ...filesIn('commands')]) {
      if (allowed.has(f)) continue;
      expect(code(f), f).not.toMatch(/\.(getState|setState|setNumber)\(/);
    }
  });

  it('the engine is typed against its ports (src/engine/ports.ts), not the concrete journal or risk engine', () => {
    for (const f of ['src/engine/engine-core.ts', 'src/engine/engine.ts', 'src/engine/engine-types.ts']) {
      const to = importsOf(f).map((e) => e.to);
      expect(to, f).not.toContain('src/journal/journal.ts');
      expect(to, f).not.toContain('src/risk/engine.ts');
    }
  });

  it('collaborators reach the engine through its constructor: nothing is assigned onto an engine after it is built', () => {
    for (const f of filesIn('src')) {
      if (f.startsWith('src/engine/')) continue;
      expect(code(f), f).not.toMatch(/\bengine\.\w+\s*=(?!=)/);
    }
  });

  it('commands import only their kit (commands/kit.ts), node built-ins and each other', () => {
    for (const f of filesIn('commands')) {
      if (f === 'commands/kit.ts') continue;
      for (const e of importsOf(f)) {
        const ok = e.to.startsWith('node:') || (e.to.startsWith('commands/') && !e.to.includes('/', 'commands/'.length));
        expect(ok, `${f} imports ${e.to}`).toBe(true);
      }
    }
  });

  it("commands never reach the engine's internals (risk, liveOrders, exchange, portfolio, journal): they use the desk", () => {
    for (const f of [...filesIn('commands'), 'src/chat/trade-args.ts']) {
      expect(code(f), f).not.toMatch(/\bengine\s*\.\s*(risk|liveOrders|exchange|portfolio|journal)\b/);
    }
  });

  it('audit rows have one writer (src/chat/audit.ts)', () => {
    const writers = [...filesIn('src'), ...filesIn('commands')].filter((f) => /\.recordCommand\(/.test(code(f)));
    expect(writers).toEqual(['src/chat/audit.ts']);
  });
});
