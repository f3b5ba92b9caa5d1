// The last lines of a (possibly huge) log file, read backwards in chunks: only the tail is read.
// Hand-rolled: a few lines with node:fs, no dependency needed for it.
import { open } from 'node:fs/promises';

const CHUNK = 64 * 1024;

/** Last `n` non-empty lines of `path`, oldest first. Reads at most `maxBytes` from the end. */
export async function tailLines(path: string, n: number, maxBytes = 4 * 1024 * 1024): Promise<string[]> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const chunks: Buffer[] = [];
    let pos = size;
    let newlines = 0;
    // n lines need n + 1 newlines to be sure the first one is whole (a trailing newline is common).
    while (pos > 0 && newlines <= n && size - pos < maxBytes) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      const b = buf.subarray(0, bytesRead);
      for (let i = 0; i < b.length; i++) if (b[i] === 10) newlines++;
      chunks.unshift(b);
    }
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    if (pos > 0) lines.shift(); // started mid-line
    return lines.filter((l) => l.trim() !== '').slice(-n);
  } finally {
    await fh.close();
  }
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A pino JSON line as "MM-DD HH:MM:SS LEVEL msg (err: …)"; other lines as they are. Cut to `max` chars. */
export function humanLogLine(line: string, max = 180): string {
  let out = line;
  try {
    const o = JSON.parse(line) as { time?: unknown; level?: unknown; msg?: unknown; err?: { message?: unknown } };
    if (o && typeof o === 'object') {
      const t = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(5, 19).replace('T', ' ') : '?';
      const lvl = typeof o.level === 'number' ? (LEVELS[o.level] ?? String(o.level)) : String(o.level ?? '?').toUpperCase();
      const err = o.err && typeof o.err.message === 'string' ? ` (err: ${o.err.message})` : '';
      out = `${t} ${lvl.padEnd(5)} ${oneLine(`${typeof o.msg === 'string' ? o.msg : ''}${err}`)}`;
    }
  } catch {
    out = oneLine(line); // not JSON: keep the raw line
  }
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}
