#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size=8: the engine makes many short-lived objects per candle; uncapped, V8 grows
// its young generation to 3 × 16 MB for them. 8 MB keeps a long replay flat at ~125 MB (bench/memory).
// Runs the compiled build (dist/, made by `npm run build`, which `npm ci` runs) when it is at least
// as new as every source file; otherwise the TypeScript sources directly through tsx. The compiled
// path starts faster and saves the loader's memory; the tsx path means a source edit is never
// shadowed by a stale build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'src', 'cli', 'main.js');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const fresh =
  existsSync(built) &&
  statSync(built).mtimeMs >=
    Math.max(newestSource(join(root, 'src')), newestSource(join(root, 'commands')), newestSource(join(root, 'training')));
if (fresh) {
  await import(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
