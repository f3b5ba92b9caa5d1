// The real `skipper run` as a child process steered through its console chat (stdin): type a command,
// wait for its reply, answer a confirmation by its number, SIGKILL it, start it again on the same journal.
import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../src/core/paths.ts';

export interface ConsoleChild {
  proc: ChildProcess;
  out(): string;
  /** Output since the last mark(). */
  since(): string;
  mark(): void;
  send(line: string): void;
  /** Resolves once the output since the last mark matches (rejects if the process ends first or after `ms`). */
  waitFor(what: string | RegExp, ms?: number): Promise<string>;
  /** Type the number of the last "[n] Confirm" since the mark (the console's numbered buttons). */
  confirm(ms?: number): Promise<void>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnConsoleBot(args: string[], env: Record<string, string> = {}): ConsoleChild {
  const proc = spawn(process.execPath, ['bin/skipper.js', 'run', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  let from = 0;
  let done = false;
  proc.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  const c: ConsoleChild = {
    proc,
    closed,
    out: () => text,
    since: () => text.slice(from),
    mark: () => void (from = text.length),
    send: (line) => void proc.stdin!.write(`${line}\n`),
    async waitFor(what, ms = 60_000) {
      const end = Date.now() + ms;
      const hit = (): RegExpMatchArray | null | boolean =>
        typeof what === 'string' ? text.slice(from).includes(what) : text.slice(from).match(what);
      while (!hit()) {
        if (done) throw new Error(`the bot exited before printing ${String(what)}:\n${text.slice(-3000)}`);
        if (Date.now() > end) throw new Error(`timed out waiting for ${String(what)}:\n${text.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return text.slice(from);
    },
    async confirm(ms = 30_000) {
      const seen = await c.waitFor(/\[(\d+)\] Confirm/, ms);
      const all = [...seen.matchAll(/\[(\d+)\] Confirm/g)];
      c.mark();
      c.send(all.at(-1)![1]!);
    },
    async kill9() {
      if (!done) proc.kill('SIGKILL');
      await closed;
    },
    async stop() {
      if (!done) proc.kill('SIGTERM');
      await closed;
    },
  };
  return c;
}
