// One audit writer: a chat command and the go-live button leave rows of the same shape.
import { RiskEngine } from '../../src/risk/engine.ts';
import { DEFAULT_LIMITS } from '../../src/risk/types.ts';
import { describe, expect, it } from 'vitest';
import { GoLive } from '../../src/app/go-live.ts';
import { Dispatcher } from '../../src/chat/dispatcher.ts';
import type { Services } from '../../src/chat/services.ts';
import { Notifier } from '../../src/chat/transport.ts';
import type { ChatUser } from '../../src/chat/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import { SimClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Journal } from '../../src/journal/journal.ts';
import { defineCommand } from '../../src/chat/command.ts';

describe('audit rows', () => {
  it('a chat command and the go-live button leave rows of the same shape (one writer)', async () => {
    const journal = new Journal({ path: ':memory:' });
    const clock = new SimClock(1_700_000_000_000);
    const log = silentLogger();
    const config = parseConfig({ botId: 'sk' });
    const user: ChatUser = { transport: 'telegram', id: '42', name: 'ann', role: 'admin' };
    const ping = defineCommand({ name: 'ping', description: 'ping', minRole: 'viewer', run: () => ({ text: 'pong' }) });
    const services = { journal, clock, config } as unknown as Services;
    await new Dispatcher([ping], services, log).handleText(user, '/ping');
    const live = new GoLive({
      config,
      engine: { pause: () => {}, resume: () => {}, risk: new RiskEngine(DEFAULT_LIMITS) },
      journal,
      notifier: new Notifier(() => {}),
      wall: clock,
      log,
    });
    await live.onButton(user, ['L', 'forged', 'y']);
    const [golive, chat] = journal.recentCommands(2);
    expect(chat).toMatchObject({ command: 'ping', outcome: 'ok', userName: 'ann', role: 'admin' });
    expect(golive).toMatchObject({ command: 'golive', outcome: 'invalid', userName: 'ann', role: 'admin' });
    const shape = (r: object) =>
      Object.entries(r)
        .filter(([k, v]) => v !== null && k !== 'detail')
        .map(([k]) => k)
        .sort();
    expect(shape(golive!)).toEqual(shape(chat!));
  });
});
