// Benchmarks measure the code users run: the compiled build in dist/ (what `npm start` and
// `npx skipper` execute), not the tsx-transpiled sources. `npm run bench` builds it first.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../src/core/paths.ts';

/** Import a module from dist/ (same path as under the project root, .ts → .js). */
export async function shipped<T>(sourcePath: string): Promise<T> {
  const built = join(PROJECT_ROOT, 'dist', sourcePath.replace(/\.ts$/, '.js'));
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` (npm run bench does)`);
  return (await import(pathToFileURL(built).href)) as T;
}

/**
 * The V8 flags the bot runs with, from bin/skipper.js's first line (package.json's scripts and the
 * Dockerfile repeat them; test/app/node-flags.test.ts holds them equal): benches run the bot's way.
 */
export const BOT_NODE_FLAGS: string[] = readFileSync(join(PROJECT_ROOT, 'bin', 'skipper.js'), 'utf8')
  .split('\n', 1)[0]!
  .replace(/^#!.*?\bnode\b/, '')
  .trim()
  .split(/\s+/)
  .filter(Boolean);
