// An unknown command gets a "Did you mean …?" when the intent is clear: another bot's name for it
// (Freqtrade's /profit, /forceexit), a unique prefix, or a typo; never a command the user may not run,
// never a guess between two, never for a pasted secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { suggestCommand } from '../../src/chat/suggest.ts';
import { hasRole, type Role } from '../../src/chat/types.ts';
import { chatUser, startBot, type Harness } from '../helpers/harness.ts';

const names = (role: Role) => COMMANDS.filter((c) => hasRole(role, c.minRole)).map((c) => c.name);

describe('suggestCommand', () => {
  it.each([
    ['profit', 'pnl'],
    ['forceexit', 'close'],
    ['forcebuy', 'buy'],
    ['stopbuy', 'pause'],
    ['show_config', 'config'],
    ['limits', 'risk'],
    ['staus', 'status'],
    ['postions', 'positions'],
    ['pos', 'positions'],
    ['balnce', 'balance'],
    ['flaten', 'flatten'],
  ])('/%s → /%s (admin)', (typed, meant) => {
    expect(suggestCommand(typed, names('admin'))).toBe(meant);
  });

  it('nothing when unsure or not allowed', () => {
    expect(suggestCommand('xyzzy', names('admin'))).toBeUndefined();
    expect(suggestCommand('t', names('admin'))).toBeUndefined(); // too short to guess
    expect(suggestCommand('s', names('admin'))).toBeUndefined();
    expect(suggestCommand('forceexit', names('viewer'))).toBeUndefined(); // /close is for traders
    expect(suggestCommand('flaten', names('trader'))).toBeUndefined(); // /flatten is for admins
  });
});

describe('the dispatcher', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startBot({ candles: 50 });
  });
  afterAll(() => h.stop());

  it('adds the suggestion to its unknown-command reply', async () => {
    const ask = async (t: string, role: Role = 'trader') => (await h.bot.dispatcher.handleText(chatUser(role), t))!.text;
    expect(await ask('/profit week')).toBe('Unknown command "/profit". Did you mean /pnl? Send /help for the list.');
    expect(await ask('/forceexit BTC/USDT', 'viewer')).toBe('Unknown command "/forceexit". Send /help for the list.');
    expect(await ask('/nonsense')).toBe('Unknown command "/nonsense". Send /help for the list.');
  });

  it('an amount typed before the symbol is named as such', async () => {
    const text = (await h.bot.dispatcher.handleText(chatUser('trader'), '/buy 0.001 BTC/USDT'))!.text;
    expect(text).toBe(
      'symbol: "0.001" is a number, not a symbol (e.g. BTC/USDT): see the order below\nUsage: /buy <symbol> <amount> [price] [twap|iceberg] [over]',
    );
  });
});
