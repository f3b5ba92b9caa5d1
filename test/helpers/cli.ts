// Run the `skipper` CLI (bin/skipper.js) as a child process, as a trader's shell would.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/core/paths.ts';

/** Exit code and output once the child's pipes have closed (not at 'exit': output may still be buffered). */
export function runSkipper(args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'skipper.js'), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}
