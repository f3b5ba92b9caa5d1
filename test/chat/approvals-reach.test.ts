// Approvals on with no chat to ask: said at start-up and by /approvals, not left to expire unseen.
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { approvalsUnseen, proposalReceivers } from '../../src/chat/routes.ts';
import { chatUser, startBot, type Harness } from '../helpers/harness.ts';

const chatOf = (chat: Record<string, unknown>) => parseConfig({ chat: { console: { enabled: false }, ...chat } }).chat;

describe('who receives trade proposals', () => {
  it('the console, Telegram alert chats, Discord routes for approval_pending', () => {
    expect(proposalReceivers(chatOf({}))).toEqual([]);
    expect(approvalsUnseen(chatOf({}), 'always')).toMatch(/^Approvals are on but no chat receives the proposals/);
    expect(approvalsUnseen(chatOf({}), 'off')).toBeNull();
    expect(approvalsUnseen(chatOf({ console: { enabled: true } }), 'above')).toBeNull();
    const telegram = (alertChats: unknown[]) => ({ telegram: { enabled: true, users: [{ id: 1, role: 'admin' }], alertChats } });
    expect(approvalsUnseen(chatOf(telegram([])), 'always')).not.toBeNull();
    expect(approvalsUnseen(chatOf(telegram([{ chatId: 1 }])), 'always')).toBeNull();
    const discord = (types: string[]) => ({
      discord: {
        enabled: true,
        applicationId: '1',
        guildIds: ['2'],
        users: [{ id: '3', role: 'admin' }],
        routes: [{ channelId: 'c', types }],
      },
    });
    expect(approvalsUnseen(chatOf(discord(['order_filled'])), 'always')).not.toBeNull();
    expect(approvalsUnseen(chatOf(discord(['approval_pending'])), 'always')).toBeNull();
  });
});

describe('approvals with nobody to ask', () => {
  let h: Harness;
  afterAll(() => h?.stop());
  it('the start-up banner and /approvals warn', async () => {
    const quiet = { name: 'sma-cross', params: { fast: 200, slow: 400 } };
    h = await startBot({ candles: 100, config: { approvals: { mode: 'always' }, strategy: quiet } });
    expect(h.printed()).toContain('Warning: Approvals are on but no chat receives the proposals');
    const r = await h.bot.dispatcher.handleText(chatUser('trader'), '/approvals above 500');
    expect(r!.text).toMatch(/\nWarning: Approvals are on but no chat receives the proposals .*every proposal will expire unanswered\.$/);
    expect(r!.severity).toBe('warning');
  });
});
