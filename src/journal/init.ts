import { rmSync } from 'node:fs';
import { UserError } from '../core/errors.ts';
import { statOrNull } from '../core/file-checks.ts';
import { Journal } from './journal.ts';

/**
 * `skipper db init`: a new, empty journal (a new account) at `path`. Replaces an empty (0-byte) file;
 * never touches a file with content. Returns what it did, in words.
 */
export function initJournal(path: string): string {
  if (path === ':memory:') throw new UserError('journal.path is :memory:; there is no file to create');
  const st = statOrNull(path);
  if (st?.isFile() && st.size > 0) {
    throw new UserError(`${path} already exists (${st.size} bytes); db init never overwrites a file with content: move it away first`);
  }
  if (st?.isFile()) rmSync(path);
  new Journal({ path }).close();
  return st ? `${path} was empty: it is now a new journal (a new account)` : `${path}: new journal created (a new account)`;
}
