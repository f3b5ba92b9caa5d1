// Checks on the files the bot writes (journal, log), made before anything is created, so a bad path is
// one clear sentence at start instead of an error from deep inside SQLite or the logger.
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** stat, or null when nothing is there (also when a parent is a file: ENOTDIR). */
export function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * Why a file can't be created or written at `path`, or null when it can: it is a directory, a parent
 * is a file, or the nearest existing directory (or the file) is not writable. Creates nothing.
 * `dirToo`: the directory must be writable even when the file exists (SQLite adds -wal/-shm files).
 */
export function writableFileProblem(path: string, dirToo = false): string | null {
  const abs = resolve(path);
  const st = statOrNull(abs);
  if (st?.isDirectory()) return `${path} is a directory, not a file`;
  let dir = dirname(abs);
  for (;;) {
    const d = statOrNull(dir);
    if (d) {
      if (!d.isDirectory()) return `cannot create ${path}: ${dir} is a file, not a directory`;
      break;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const targets = st ? (dirToo ? [abs, dir] : [abs]) : [dir];
  for (const t of targets) {
    try {
      accessSync(t, constants.W_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      return t === abs ? `cannot write ${path} (${code})` : `cannot create files in ${dir} (${code})`;
    }
  }
  return null;
}
