// Pending trade proposals in a held replay, on the console and on Telegram (real grammY, fake Bot API):
// every open choice on the console stays answerable (numbers are unique across open prompts), /approvals
// lists the pending ones with buttons, a trader's own order never waits on a proposal, and /flatten
// withdraws the proposals it makes moot (journaled, every copy edited) and completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_INFO, FakeTelegram, parseTelegramHtml, type FakeCall } from '../fakes/telegram-api.ts';
import { startBot, type Harness } from '../helpers/harness.ts';
import { until } from '../helpers/venue-time.ts';

const TOKEN = '123456:CONTROLS-token-abc';
const ADMIN = 111;
const GROUP = -100888;
const SYM = 'BTC/USDT';

const seen = (c: FakeCall): string => {
  const p = parseTelegramHtml(String(c.body.text ?? ''));
  if (!p.ok) throw new Error(p.error);
  return p.text;
};
const buttonsOf = (c: FakeCall): Array<{ text: string; callback_data: string }> =>
  (
    (c.body.reply_markup as { inline_keyboard?: Array<Array<{ text: string; callback_data: string }>> } | undefined)?.inline_keyboard ?? []
  ).flat();
const messageId = (c: FakeCall): number => (c.response as { result: { message_id: number } }).result.message_id;

describe('pending proposals stay answerable; /flatten withdraws them (console + Telegram)', () => {
  let tg: FakeTelegram;
  let h: Harness;
  const con = () => h.bot.console!;
  /** What the console printed since `from`. */
  const printedSince = (from: number) => h.printed().slice(from);
  const proposal = (id: number) => h.bot.journal.getProposal(id);
  /** The Telegram copy of proposal #id. */
  const tgPrompt = (id: number) =>
    tg.waitFor('sendMessage', (c) => String(c.body.chat_id) === String(GROUP) && seen(c).startsWith(`Trade proposal #${id}\n`), {
      timeoutMs: 20_000,
    });

  beforeAll(async () => {
    tg = await FakeTelegram.start(TOKEN);
    tg.addUser({ id: ADMIN, first_name: 'Ada', username: 'ada' });
    h = await startBot({
      candles: 3000,
      waitForReplay: false,
      config: {
        approvals: { mode: 'always', holdReplay: true, timeoutSec: 3600 },
        // No stop-loss: the position lives until the strategy's own exit (a proposal too).
        risk: { sizing: 'fixed', fixedQuote: 100, stopLossPct: null, minTradeIntervalSec: 0, maxConsecutiveLosses: 0 },
        chat: {
          console: { enabled: true, role: 'admin' },
          telegram: { enabled: true, pollTimeoutSec: 1, users: [{ id: ADMIN, role: 'admin' }], alertChats: [{ chatId: GROUP }] },
        },
      },
      bot: { secrets: { telegramBotToken: TOKEN, telegramApiRoot: tg.url }, telegram: { botInfo: BOT_INFO } },
    });
  });

  afterAll(async () => {
    h.bot.approvals.setMode('off', undefined, 'test');
    h.bot.approvals.withdraw({}, 'test over', 'test');
    await h.stop();
    await tg.close();
  });

  it('the console: a confirmation asked meanwhile gets its own numbers, and the proposal can still be answered', async () => {
    await until(() => /Trade proposal #1 ==[\s\S]*\[1\] Approve\s+\[2\] Reject/.test(h.printed()), 'proposal #1', 20_000);
    let mark = h.printed().length;
    await con().onLine('/flatten');
    expect(printedSince(mark)).toMatch(/withdraw 1 pending trade proposal\?[\s\S]*\[3\] Confirm\s+\[4\] Cancel/);
    mark = h.printed().length;
    await con().onLine('4');
    expect(printedSince(mark)).toMatch(/Cancelled: nothing was done/);
    expect(proposal(1)!.status).toBe('pending');
    mark = h.printed().length;
    await con().onLine('1');
    expect(printedSince(mark)).toMatch(/> Approved: placed sk-/);
    expect(proposal(1)!.status).toBe('approved');
    // Nothing left to answer: a number says so instead of becoming an unknown command.
    await con().onLine('7');
    expect(h.printed()).toMatch(/No choice 7/);
    expect(h.printed()).not.toMatch(/Unknown command "\/1"/);
  });

  it('/approvals lists the pending proposals with buttons (console numbers, Telegram keyboard); a trader order fills while one waits', async () => {
    await until(() => h.bot.engine.portfolio.positions.has(SYM), 'entry filled', 20_000);
    await until(() => proposal(2)?.status === 'pending', 'proposal #2 (the exit)', 20_000);
    const p2 = await tgPrompt(2);
    expect(buttonsOf(p2).map((b) => b.text)).toEqual(['Approve', 'Reject']);

    const after = tg.mark;
    tg.sendText(ADMIN, '/approvals');
    const list = await tg.waitFor('sendMessage', (c) => String(c.body.chat_id) === String(ADMIN), { after });
    expect(seen(list)).toMatch(/Pending:\n#2 SELL/);
    expect(buttonsOf(list).map((b) => b.text)).toEqual(['Approve #2', 'Reject #2']);
    let mark = h.printed().length;
    await con().onLine('/approvals');
    expect(printedSince(mark)).toMatch(/#2 SELL[\s\S]*\[\d+\] Approve #2\s+\[\d+\] Reject #2/);

    // The replay is held for #2, but an order the trader confirms still fills.
    const qty = h.bot.engine.portfolio.positions.get(SYM)!.qty;
    mark = h.printed().length;
    await con().onLine('/buy BTC/USDT 0.001');
    const confirm = /\[(\d+)\] Confirm/.exec(printedSince(mark))![1]!;
    await con().onLine(confirm);
    await until(() => (h.bot.engine.portfolio.positions.get(SYM)?.qty ?? 0) > qty, 'manual buy filled', 20_000);
    expect(proposal(2)!.status).toBe('pending');
  });

  it('/flatten withdraws the pending exit proposal (journal, console and Telegram copies) and its close fills', async () => {
    const p2 = await tgPrompt(2);
    const after = tg.mark;
    let mark = h.printed().length;
    await con().onLine('/flatten');
    const confirm = /\[(\d+)\] Confirm/.exec(printedSince(mark))![1]!;
    mark = h.printed().length;
    await con().onLine(confirm);
    expect(printedSince(mark)).toMatch(/1 pending trade proposal withdrawn/);
    expect(proposal(2)).toMatchObject({ status: 'withdrawn', decidedBy: 'console' });
    expect(h.bot.journal.recentDecisions(50).find((d) => d.id === proposal(2)!.decisionId)?.approval).toBe('withdrawn');
    const edit = await tg.waitFor('editMessageText', (c) => Number(c.body.message_id) === messageId(p2), { after });
    expect(seen(edit)).toMatch(/Withdrawn — made moot by \/flatten \(console\): nothing was placed/);
    expect(buttonsOf(edit)).toEqual([]);
    await until(() => /Withdrawn — made moot by \/flatten/.test(printedSince(mark)), 'console copy edited');
    // Nothing holds the replay for it any more: the close fills.
    await until(() => !h.bot.engine.portfolio.positions.has(SYM), 'position closed', 20_000);
  });

  it('a decision from the /approvals list (Telegram) places the order and refreshes the list', async () => {
    await until(() => h.bot.approvals.pendingList().length > 0, 'next proposal', 20_000);
    const [next] = h.bot.approvals.pendingList();
    let after = tg.mark;
    tg.sendText(ADMIN, '/approvals');
    const list = await tg.waitFor('sendMessage', (c) => String(c.body.chat_id) === String(ADMIN), { after });
    const approve = buttonsOf(list).find((b) => b.text === `Approve #${next!.id}`)!;
    after = tg.mark;
    const q = tg.pressButton(ADMIN, messageId(list), approve.callback_data);
    const ans = await tg.waitFor('answerCallbackQuery', (c) => c.body.callback_query_id === q, { after });
    expect(String(ans.body.text)).toMatch(/^Approved: placed sk-/);
    const edited = await tg.waitFor('editMessageText', (c) => Number(c.body.message_id) === messageId(list), { after });
    expect(seen(edited)).not.toMatch(new RegExp(`#${next!.id} `));
    expect(proposal(next!.id)!.status).toBe('approved');
  });

  it('/close withdraws the pending exit proposal of its position; /pause withdraws entry proposals', async () => {
    await until(() => h.bot.engine.portfolio.positions.has(SYM), 'entry filled', 20_000);
    await until(() => h.bot.approvals.pendingList().length > 0, 'exit proposal', 20_000);
    const [exit] = h.bot.approvals.pendingList();
    expect(exit!.summary).toMatch(/^SELL/);
    let mark = h.printed().length;
    await con().onLine('/close BTC/USDT');
    await con().onLine(/\[(\d+)\] Confirm/.exec(printedSince(mark))![1]!);
    expect(printedSince(mark)).toMatch(/1 pending exit proposal withdrawn/);
    expect(proposal(exit!.id)!.status).toBe('withdrawn');
    await until(() => !h.bot.engine.portfolio.positions.has(SYM), 'position closed', 20_000);

    await until(() => h.bot.approvals.pendingList().length > 0, 'entry proposal', 20_000);
    const [entry] = h.bot.approvals.pendingList();
    expect(entry!.summary).toMatch(/^BUY/);
    mark = h.printed().length;
    await con().onLine('/pause');
    expect(printedSince(mark)).toMatch(/Paused by console\. .*1 pending entry proposal withdrawn/);
    expect(proposal(entry!.id)).toMatchObject({ status: 'withdrawn', detail: 'made moot by /pause (console)' });
  });
});
