// Console choice numbers are never reused within a run: after "5" confirmed /flatten, a late or
// repeated "5" must not approve the next proposal.
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { ConsoleTransport } from '../../src/chat/console.ts';
import type { Dispatcher } from '../../src/chat/dispatcher.ts';
import { silentLogger } from '../../src/core/logger.ts';

function consoleWithLog() {
  const pressed: string[] = [];
  // Our own dispatcher, stubbed to the one call a typed number makes.
  const dispatcher = {
    handleButton: async (_u: unknown, data: string) => {
      pressed.push(data);
      return { toast: `done ${data}` };
    },
    handleText: async () => undefined,
  } as unknown as Dispatcher;
  const output = new PassThrough();
  let text = '';
  output.on('data', (d: Buffer) => (text += d.toString()));
  const con = new ConsoleTransport(dispatcher, { input: new PassThrough(), output, role: 'admin' }, silentLogger());
  return { con, pressed, printed: () => text };
}

const prompt = (title: string, a: string, b: string) => ({
  title,
  text: '…',
  buttons: [
    [
      { label: a, data: `${title}:${a}` },
      { label: b, data: `${title}:${b}` },
    ],
  ],
});

describe('console choice numbers', () => {
  it('a finished prompt’s number is not given to the next prompt, and typing it again says it is no longer open', async () => {
    const { con, pressed, printed } = consoleWithLog();
    await con.broadcast(prompt('Flatten', 'Confirm', 'Cancel'), { type: 'approval', severity: 'info' } as never);
    expect(printed()).toMatch(/\[1\] Confirm\s+\[2\] Cancel/);
    await con.onLine('1');
    expect(pressed).toEqual(['Flatten:Confirm']);

    await con.broadcast(prompt('Proposal', 'Approve', 'Reject'), { type: 'approval', severity: 'info' } as never);
    expect(printed()).toMatch(/\[3\] Approve\s+\[4\] Reject/);
    expect(printed()).not.toMatch(/\[1\] Approve/);

    await con.onLine('1'); // the repeated "1": answers nothing
    expect(pressed).toEqual(['Flatten:Confirm']);
    expect(printed()).toMatch(/Choice 1 is no longer open: nothing was done\. Open choices: 3–4 \(Approve\/Reject\)\./);

    await con.onLine('4');
    expect(pressed).toEqual(['Flatten:Confirm', 'Proposal:Reject']);
    await con.onLine('3');
    expect(printed()).toMatch(/Choice 3 is no longer open: nothing was done\. Nothing is waiting for an answer\./);
    await con.onLine('9');
    expect(printed()).toMatch(/No choice 9: nothing is waiting for an answer\./);
  });
});
