// The Telegram transport end to end: a real bot, real grammY long-polling a local fake Bot API.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { STALE_BUTTON } from '../../src/chat/dispatcher.ts';
import { Dispatcher } from '../../src/chat/dispatcher.ts';
import type { Services } from '../../src/chat/services.ts';
import { HINT, MAX_CAPTION, MAX_TEXT, TelegramTransport, escapeHtml, keyboardRows, renderHtml } from '../../src/chat/telegram.ts';
import { parseConfig } from '../../src/config/load.ts';
import { UserError } from '../../src/core/errors.ts';
import { createLogger, silentLogger } from '../../src/core/logger.ts';
import { BOT_INFO, FakeTelegram, parseTelegramHtml, type FakeCall } from '../fakes/telegram-api.ts';
import { startBot, tempDir, type Harness } from '../helpers/harness.ts';

const TOKEN = '123456:TEST-token-abc';
const ADMIN = 111;
const TRADER = 222;
const VIEWER = 333;
const STRANGER = 999;
const GROUP = -100777;
const TOPIC = 7;

const users = [
  { id: ADMIN, role: 'admin' as const },
  { id: TRADER, role: 'trader' as const },
  { id: VIEWER, role: 'viewer' as const },
];

function addUsers(fake: FakeTelegram): void {
  fake.addUser({ id: ADMIN, first_name: 'Ada', username: 'ada_admin' });
  fake.addUser({ id: TRADER, first_name: 'Tom', username: 'tom_trader' });
  fake.addUser({ id: VIEWER, first_name: 'Vic' });
  fake.addUser({ id: STRANGER, first_name: 'Eve', username: 'eve' });
}

const sent = ['sendMessage', 'sendPhoto', 'sendDocument'];
const chatIs = (id: number) => (c: FakeCall) => String(c.body.chat_id) === String(id);
/** The text a user sees (HTML parsed like Telegram does). */
const seen = (c: FakeCall): string => {
  const html = String(c.body.text ?? c.body.caption ?? '');
  const p = parseTelegramHtml(html);
  if (!p.ok) throw new Error(p.error);
  return p.text;
};
const messageId = (c: FakeCall): number => (c.response as { result: { message_id: number } }).result.message_id;
const buttonsOf = (c: FakeCall): Array<{ text: string; callback_data: string }> =>
  (
    (c.body.reply_markup as { inline_keyboard?: Array<Array<{ text: string; callback_data: string }>> } | undefined)?.inline_keyboard ?? []
  ).flat();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Send `text` as `userId` (private chat unless chatId) and wait for the bot's answer in that chat. */
async function ask(fake: FakeTelegram, userId: number, text: string, chatId = userId, timeoutMs?: number): Promise<FakeCall> {
  const after = fake.mark;
  fake.sendText(userId, text, chatId === userId ? {} : { chatId });
  return fake.waitFor(sent, chatIs(chatId), { after, ...(timeoutMs ? { timeoutMs } : {}) });
}
/** Research commands run a backtest on a worker thread before they answer. */
const SLOW = new Set(['backtest', 'stress']);

describe('Telegram transport (grammY against a fake Bot API)', () => {
  let fake: FakeTelegram;
  let h: Harness;
  let logFile: string;

  beforeAll(async () => {
    fake = await FakeTelegram.start(TOKEN);
    addUsers(fake);
    const dir = tempDir();
    logFile = join(dir, 'telegram.log');
    const logger = createLogger({ level: 'debug', destination: pino.destination({ dest: logFile, sync: true }) });
    h = await startBot({
      dir,
      candles: 600,
      config: { chat: { telegram: { enabled: true, pollTimeoutSec: 1, users, alertChats: [{ chatId: GROUP, topicId: TOPIC }] } } },
      bot: { logger, secrets: { telegramBotToken: TOKEN, telegramApiRoot: fake.url }, telegram: { botInfo: BOT_INFO } },
    });
  });

  afterAll(async () => {
    await h?.stop();
    await fake?.close();
  });

  it('drops any webhook and registers the command menu at start (no getMe with a known identity)', async () => {
    const cmds = await fake.waitFor('setMyCommands');
    expect((cmds.body.commands as Array<{ command: string }>).map((c) => c.command)).toEqual(COMMANDS.map((c) => c.name));
    for (const c of cmds.body.commands as Array<{ description: string }>) expect(c.description.length).toBeGreaterThanOrEqual(3);
    expect(fake.callsOf('deleteWebhook')).toHaveLength(1);
    expect(fake.callsOf('getMe')).toHaveLength(0);
    const poll = await fake.waitFor('getUpdates');
    expect(poll.body.timeout).toBe(1);
  });

  it('answers every command with a reply that is not an error', async () => {
    for (const c of COMMANDS) {
      const r = await ask(fake, ADMIN, `/${c.name}`, ADMIN, SLOW.has(c.name) ? 60_000 : undefined);
      const text = seen(r);
      if (process.env.SHOW_REPLIES) console.log(`/${c.name} →`, r.method, JSON.stringify(r.body.text ?? r.body.caption));
      expect(text, `/${c.name}`).not.toMatch(/failed:|Unknown command/);
      expect(text.length, `/${c.name}`).toBeGreaterThan(0);
    }
    await ask(fake, ADMIN, '/resume'); // the loop may have paused the bot
  }, 120_000);

  it('answers the core commands with their content', async () => {
    expect(seen(await ask(fake, VIEWER, '/help'))).toContain('/status');
    const status = await ask(fake, VIEWER, '/status');
    expect(status.body.parse_mode).toBe('HTML');
    expect(status.body.text).toMatch(/^<b>Skipper status<\/b>\n<pre>/);
    expect(seen(status)).toContain('paper trading (simulated money)');
    expect(seen(await ask(fake, VIEWER, '/positions'))).toMatch(/No open positions|Open positions/);
    expect(seen(await ask(fake, VIEWER, '/orders'))).toMatch(/No working orders|Working orders/);
    expect(seen(await ask(fake, VIEWER, '/pnl week'))).toContain('Equity change');
    expect(seen(await ask(fake, TRADER, '/pause'))).toContain('Paused by tom_trader');
    expect(h.bot.engine.risk.state().paused).toBe(true);
    expect(seen(await ask(fake, TRADER, '/resume'))).toContain('Resumed by tom_trader');
    // /start (sent by clients when a chat is opened) shows the help.
    expect(seen(await ask(fake, VIEWER, '/start'))).toContain('Skipper commands');
    // Commands addressed to the bot by name work in groups.
    expect(seen(await ask(fake, VIEWER, `/orders@${BOT_INFO.username}`, GROUP))).toMatch(/working orders/i);
  });

  it('/flatten asks first; Confirm runs it and edits the prompt; replayed and forged presses only get the stale toast', async () => {
    const prompt = await ask(fake, ADMIN, '/flatten');
    expect(seen(prompt)).toContain('Please confirm');
    const [confirm, cancel] = buttonsOf(prompt);
    expect(confirm?.text).toBe('Confirm');
    expect(cancel?.text).toBe('Cancel');
    const id = messageId(prompt);

    // Forged: right id, wrong nonce.
    let after = fake.mark;
    const forged = confirm!.callback_data.replace(/:[0-9a-f]+:y$/, ':000000000000:y');
    const fq = fake.pressButton(ADMIN, id, forged);
    const fa = await fake.waitFor('answerCallbackQuery', (c) => c.body.callback_query_id === fq, { after });
    expect(fa.body.text).toBe(STALE_BUTTON);

    after = fake.mark;
    const q1 = fake.pressButton(ADMIN, id, confirm!.callback_data);
    const a1 = await fake.waitFor('answerCallbackQuery', (c) => c.body.callback_query_id === q1, { after });
    expect(a1.body.text).toBe('Done');
    const edited = await fake.waitFor('editMessageText', (c) => Number(c.body.message_id) === id, { after });
    expect(seen(edited)).toMatch(/Nothing to do|Flatten:/);
    expect(buttonsOf(edited)).toEqual([]); // keyboard removed
    expect(fake.messages.get(id)?.reply_markup).toBeUndefined();

    // Replayed: the same press again.
    after = fake.mark;
    const q2 = fake.pressButton(ADMIN, id, confirm!.callback_data);
    const a2 = await fake.waitFor('answerCallbackQuery', (c) => c.body.callback_query_id === q2, { after });
    expect(a2.body.text).toBe(STALE_BUTTON);
    await sleep(150);
    expect(fake.calls.filter((c) => c.seq >= after && c.method.startsWith('edit'))).toEqual([]);
    expect(fake.calls.filter((c) => c.seq >= after && c.method === 'sendMessage' && chatIs(ADMIN)(c))).toEqual([]);
  });

  it('strangers get exactly one polite refusal, then silence; every attempt is audited', async () => {
    const r = await ask(fake, STRANGER, '/status');
    expect(seen(r)).toMatch(/not on this bot's allow-list/);
    const after = fake.mark;
    fake.sendText(STRANGER, '/flatten');
    fake.sendText(STRANGER, 'hello?');
    const audited = async () => h.bot.journal.recentCommands(50).filter((c) => c.transport === 'telegram' && c.userId === String(STRANGER));
    for (let i = 0; i < 100 && (await audited()).length < 3; i++) await sleep(20);
    const rows = await audited();
    expect(rows).toHaveLength(3);
    expect(rows.every((x) => x.outcome === 'refused')).toBe(true);
    expect(rows.map((x) => x.userName)).toContain('eve');
    await sleep(150);
    expect(fake.calls.filter((c) => c.seq >= after && sent.includes(c.method) && chatIs(STRANGER)(c))).toEqual([]);
    // A stranger's button press is answered (no spinner) but says nothing more. (A prompt that is
    // always asked: /flatten with nothing open no longer asks.)
    const prompt = await ask(fake, ADMIN, '/risk set riskPerTrade 2.5%');
    const a = fake.mark;
    const q = fake.pressButton(STRANGER, messageId(prompt), buttonsOf(prompt)[0]!.callback_data);
    const ans = await fake.waitFor('answerCallbackQuery', (c) => c.body.callback_query_id === q, { after: a });
    expect(ans.body.text).toBeUndefined();
  });

  it('a viewer is refused /pause by role', async () => {
    expect(seen(await ask(fake, VIEWER, '/pause'))).toContain('/pause needs the trader role; you are a viewer');
    expect(h.bot.engine.risk.state().paused).toBe(false);
  });

  it('escapes user text in replies (HTML parse mode)', async () => {
    const r = await ask(fake, ADMIN, '/x<b>&y</b>');
    expect(r.body.text).toContain('&lt;b&gt;&amp;y&lt;/b&gt;');
    expect(seen(r)).toContain('Unknown command "/x<b>&y</b>"');
    const p = await ask(fake, ADMIN, '/pnl <b>');
    expect(seen(p)).toMatch(/period: expected one of/);
    expect(r.status).toBe(200);
    expect(p.status).toBe(200);
  });

  it('answers plain text with a hint in private chats, and ignores group chatter', async () => {
    expect(seen(await ask(fake, VIEWER, 'what is the pnl'))).toBe(HINT);
    const after = fake.mark;
    fake.sendText(VIEWER, 'chatting in the group', { chatId: GROUP });
    fake.sendText(VIEWER, '/status@some_other_bot', { chatId: GROUP });
    await ask(fake, VIEWER, '/orders', GROUP); // per-chat order: earlier updates were handled first
    expect(fake.calls.filter((c) => c.seq >= after && sent.includes(c.method) && chatIs(GROUP)(c))).toHaveLength(1);
  });

  it('retries a 429 after retry_after and the message still arrives', async () => {
    fake.rateLimit('sendMessage', 1, 1);
    const after = fake.mark;
    fake.sendText(VIEWER, '/orders');
    const ok = await fake.waitFor('sendMessage', (c) => chatIs(VIEWER)(c) && c.status === 200, { after, timeoutMs: 5000 });
    const tries = fake.calls.filter((c) => c.seq >= after && c.method === 'sendMessage');
    expect(tries.map((c) => c.status)).toEqual([429, 200]);
    expect(seen(ok)).toMatch(/working orders/i);
  });

  it('broadcasts to alert chats (forum topic), sends photos, splits long text, and edits', async () => {
    const t = h.bot.telegram!;
    const topic = { type: 'order_filled', severity: 'info' } as const;
    let after = fake.mark;
    const refs = await t.broadcast({ title: 'Fill <BTC>', text: 'bought 1 & sold 0', buttons: [[{ label: 'Ok', data: 'x:1' }]] }, topic);
    expect(refs).toHaveLength(1);
    expect(refs[0]).toMatchObject({ transport: 'telegram', chatId: String(GROUP) });
    const msg = await fake.waitFor('sendMessage', chatIs(GROUP), { after });
    expect(msg.body.message_thread_id).toBe(TOPIC);
    expect(msg.body.text).toBe('<b>Fill &lt;BTC&gt;</b>\nbought 1 &amp; sold 0');
    expect(String(messageId(msg))).toBe(refs[0]!.messageId);

    await t.edit(refs[0]!, { title: 'Fill', text: 'updated', buttons: [] });
    const ed = await fake.waitFor('editMessageText', (c) => String(c.body.message_id) === refs[0]!.messageId, { after });
    expect(seen(ed)).toBe('Fill\nupdated');
    expect(fake.messages.get(Number(refs[0]!.messageId))?.reply_markup).toBeUndefined();
    // Editing to the same content is not an error.
    await t.edit(refs[0]!, { title: 'Fill', text: 'updated', buttons: [] });

    after = fake.mark;
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const prefs = await t.broadcast(
      { title: 'Daily report', text: 'Equity +1.2%', image: { png, filename: 'equity.png', caption: 'Equity, 30 days' } },
      topic,
    );
    const ph = await fake.waitFor('sendPhoto', chatIs(GROUP), { after });
    expect(ph.files).toHaveLength(1);
    expect(seen(ph)).toBe('Daily report\nEquity, 30 days\nEquity +1.2%');
    expect(ph.body.parse_mode).toBe('HTML');
    // Edits of a photo message fall back to its caption.
    await t.edit(prefs[0]!, { title: 'Daily report', text: 'revised' });
    const capEdit = await fake.waitFor('editMessageCaption', (c) => String(c.body.message_id) === prefs[0]!.messageId, { after });
    expect(seen(capEdit)).toBe('Daily report\nrevised');

    after = fake.mark;
    const long = Array.from({ length: 400 }, (_, i) => `line ${i} <${'x'.repeat(20)}>`).join('\n');
    const lrefs = await t.broadcast({ title: 'Long', text: long, mono: true, buttons: [[{ label: 'Ok', data: 'x:2' }]] }, topic);
    const parts = fake.calls.filter((c) => c.seq >= after && c.method === 'sendMessage');
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.every((c) => c.status === 200)).toBe(true);
    expect(parts.map(seen).join('\n')).toBe(`Long\n${long}`);
    expect(buttonsOf(parts.at(-1)!)).toHaveLength(1); // buttons ride on the last part…
    expect(parts.slice(0, -1).every((c) => buttonsOf(c).length === 0)).toBe(true);
    expect(lrefs[0]!.messageId).toBe(String(messageId(parts.at(-1)!))); // …which is the one edits target

    // A long caption: the photo keeps the heading, the text follows as a message.
    after = fake.mark;
    await t.broadcast({ title: 'Chart', text: 'y'.repeat(2000), image: { png, filename: 'c.png' } }, topic);
    const lp = await fake.waitFor('sendPhoto', chatIs(GROUP), { after });
    expect(seen(lp)).toBe('Chart');
    const lt = await fake.waitFor('sendMessage', chatIs(GROUP), { after });
    expect(seen(lt)).toBe('y'.repeat(2000));
  });

  it('delivers alerts to the alert chat (forum topic) and journals that chat as a channel of its own', async () => {
    const after = fake.mark;
    // Critical: the replay's own alerts may have filled this chat's storm-guard window.
    h.bot.alerts.raise({ type: 'exchange_down', severity: 'critical', title: 'Venue unreachable (tg test)', message: 'retrying' });
    const msg = await fake.waitFor('sendMessage', (c) => chatIs(GROUP)(c) && String(c.body.text).includes('tg test'), { after });
    expect(msg.body.message_thread_id).toBe(TOPIC);
    const row = h.bot.journal.recentAlerts(20).find((a) => a.title.includes('(tg test)'))!;
    for (let k = 0; k < 50 && h.bot.journal.alertDeliveries(row.id).length === 0; k++) await new Promise((r) => setTimeout(r, 20));
    expect(h.bot.journal.alertDeliveries(row.id).map((d) => [d.channel, d.status])).toEqual([[`telegram:${GROUP}/${TOPIC}`, 'sent']]);
    expect(h.bot.journal.recentAlerts(20).find((a) => a.id === row.id)!.delivery).toBe('sent');
    expect(h.bot.alerts.routes()).toContain(`telegram:${GROUP}/${TOPIC}`);
  });

  it('keeps the token out of the log file and out of every request body', async () => {
    // Provoke a logged failure: editing a message that doesn't exist.
    await expect(
      h.bot.telegram!.edit({ transport: 'telegram', chatId: String(GROUP), messageId: '999999' }, { text: 'x' }),
    ).rejects.toThrow(/message to edit not found/);
    const log = readFileSync(logFile, 'utf8');
    expect(log).toContain('telegram call failed');
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain('TEST-token');
    expect(fake.calls.length).toBeGreaterThan(20);
    for (const c of fake.calls) {
      expect(c.path).toBe(`/bot${TOKEN}/${c.method}`);
      expect(c.raw).not.toContain('TEST-token');
    }
  });

  it('stops cleanly: the long poll is aborted and handled updates are confirmed', async () => {
    const after = fake.mark;
    const last = fake.sendText(VIEWER, '/orders');
    await fake.waitFor('sendMessage', chatIs(VIEWER), { after });
    await h.stop();
    const polls = fake.callsOf('getUpdates');
    expect(polls.at(-1)!.body).toMatchObject({ offset: last + 1, timeout: 0 });
    const n = fake.calls.length;
    await sleep(1200); // longer than pollTimeoutSec: nothing polls any more
    expect(fake.calls.length).toBe(n);
  });

  it('the fake answers a wrong token with 401 and a malformed path with 404, like the real API', async () => {
    const wrong = await fetch(`${fake.url}/bot123456:WRONG/getMe`, { method: 'POST' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ ok: false, error_code: 401, description: 'Unauthorized' });
    const malformed = await fetch(`${fake.url}/getMe`, { method: 'POST' });
    expect(malformed.status).toBe(404);
    const unknown = await fetch(`${fake.url}/bot${TOKEN}/noSuchMethod`, { method: 'POST' });
    expect(unknown.status).toBe(404);
  });
});

describe('Telegram transport: start-up failures', () => {
  it('a rejected token fails start with a clear error that does not contain the token', async () => {
    const fake = await FakeTelegram.start(TOKEN);
    const config = parseConfig({ chat: { telegram: { enabled: true, pollTimeoutSec: 1 } } }).chat.telegram;
    const log = silentLogger();
    const t = new TelegramTransport({
      token: '654321:WRONG-token-xyz',
      apiRoot: `${fake.url}/`,
      config,
      dispatcher: new Dispatcher([], {} as Services, log),
      commands: COMMANDS,
      log,
    });
    try {
      const err = await t.start().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UserError);
      expect(String((err as Error).message)).toMatch(/rejected the bot token \(401/);
      expect(String((err as Error).message)).not.toContain('WRONG-token');
    } finally {
      await t.stop();
      await fake.close();
    }
  });

  it('an unreachable API does not stop the bot from starting: it logs and retries in the background', async () => {
    const config = parseConfig({ chat: { telegram: { enabled: true, pollTimeoutSec: 1 } } }).chat.telegram;
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', destination: { write: (l: string) => void lines.push(l) } });
    const t = new TelegramTransport({
      token: TOKEN,
      apiRoot: 'http://127.0.0.1:1', // nothing listens there: connection refused
      config,
      dispatcher: new Dispatcher([], {} as Services, log),
      commands: COMMANDS,
      log,
    });
    await expect(t.start()).resolves.toBeUndefined();
    await t.stop();
    expect(lines.join('')).toContain('telegram unreachable at start');
    expect(lines.join('')).not.toContain('TEST-token');
  });
});

describe('Telegram rendering', () => {
  it('escapes, wraps mono bodies in <pre>, and keeps every part within the limit', () => {
    expect(escapeHtml('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
    expect(renderHtml({ title: 'T&', text: 'a<b', mono: true })).toEqual(['<b>T&amp;</b>\n<pre>a&lt;b</pre>']);
    const huge = '<&>'.repeat(5000);
    const parts = renderHtml({ title: 'x', text: huge, mono: true });
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(MAX_TEXT);
      expect(parseTelegramHtml(p).ok).toBe(true);
    }
    // A single long line is cut without inventing line breaks.
    const line = 'a&'.repeat(3000);
    expect(
      renderHtml({ text: line })
        .map((x) => parseTelegramHtml(x).ok && (parseTelegramHtml(x) as { text: string }).text)
        .join(''),
    ).toBe(line);
    // Too much for five messages: truncated with a note.
    const cut = renderHtml({ text: 'z'.repeat(MAX_TEXT * 7) });
    expect(cut).toHaveLength(5);
    expect(cut.at(-1)).toMatch(/… \(truncated\)$/);
    const cap = renderHtml({ title: 't'.repeat(2000), text: 'body' }, MAX_CAPTION, 1);
    expect(cap[0]!.length).toBeLessThanOrEqual(MAX_CAPTION);
    expect(parseTelegramHtml(cap[0]!).ok).toBe(true);
  });

  it('drops buttons whose payload exceeds 64 bytes', () => {
    const dropped: string[] = [];
    const rows = keyboardRows(
      [
        [
          { label: 'ok', data: 'p:1:abc:a' },
          { label: 'big', data: 'x'.repeat(65) },
        ],
      ],
      (b) => dropped.push(b.label),
    );
    expect(rows).toEqual([[{ text: 'ok', callback_data: 'p:1:abc:a' }]]);
    expect(dropped).toEqual(['big']);
  });
});

describe('Telegram trade-confirmation proposals', () => {
  let fake: FakeTelegram;
  let h: Harness;
  let wall = 1_700_000_000_000;
  const ordersNow = () => h.bot.journal.count('orders');

  /** The next proposal posted to the alert chat. */
  async function nextProposal(after: number): Promise<{ call: FakeCall; id: number; approve: string; reject: string }> {
    const call = await fake.waitFor('sendMessage', (c) => chatIs(GROUP)(c) && /Trade proposal #\d+/.test(String(c.body.text)), {
      after,
      timeoutMs: 10_000,
    });
    const [approve, reject] = buttonsOf(call);
    expect(approve?.text).toBe('Approve');
    expect(reject?.text).toBe('Reject');
    return { call, id: messageId(call), approve: approve!.callback_data, reject: reject!.callback_data };
  }

  beforeAll(async () => {
    fake = await FakeTelegram.start(TOKEN);
    addUsers(fake);
    h = await startBot({
      candles: 3000,
      waitForReplay: false,
      config: {
        approvals: { mode: 'always', holdReplay: true, timeoutSec: 10 },
        chat: { telegram: { enabled: true, pollTimeoutSec: 1, users, alertChats: [{ chatId: GROUP }] } },
      },
      bot: {
        secrets: { telegramBotToken: TOKEN, telegramApiRoot: fake.url },
        telegram: { botInfo: BOT_INFO },
        wallClock: { now: () => wall },
      },
    });
  });

  afterAll(async () => {
    if (h) {
      // Let the replay run out: no new proposals, and the open one expires.
      h.bot.approvals.setMode('off', undefined, 'test');
      wall += 86_400_000;
      h.bot.approvals.sweep();
      await h.stop();
    }
    await fake?.close();
  });

  it('posts the proposal with Approve/Reject; a viewer cannot decide; approving places the order and edits the prompt', async () => {
    const p = await nextProposal(0);
    expect(seen(p.call)).toMatch(/Trade proposal #1\n/);
    expect(ordersNow()).toBe(0);

    let after = fake.mark;
    const qv = fake.pressButton(VIEWER, p.id, p.approve);
    const av = await fake.waitFor('answerCallbackQuery', (c) => c.body.callback_query_id === qv, { after });
    expect(av.body.text).toMatch(/Only traders and admins/);
    expect(ordersNow()).toBe(0);

    after = fake.mark;
    const q = fake.pressButton(TRADER, p.id, p.approve);
    const ans = await fake.waitFor('answerCallbackQuery', (c) => c.body.callback_query_id === q, { after });
    expect(ans.body.text).toMatch(/^Approved: placed /);
    const ed = await fake.waitFor('editMessageText', (c) => Number(c.body.message_id) === p.id, { after });
    expect(seen(ed)).toMatch(/Approved by tom_trader \(telegram\)/);
    expect(buttonsOf(ed)).toEqual([]);
    expect(ordersNow()).toBeGreaterThan(0);
    const audit = h.bot.journal.recentCommands(20).find((c) => c.command === 'approval' && c.outcome === 'approved');
    expect(audit?.userName).toBe('tom_trader');

    // Pressing again (replay) changes nothing.
    after = fake.mark;
    const q2 = fake.pressButton(ADMIN, p.id, p.approve);
    const a2 = await fake.waitFor('answerCallbackQuery', (c) => c.body.callback_query_id === q2, { after });
    expect(a2.body.text).toMatch(/Already approved by tom_trader/);
  });

  it('rejecting places nothing', async () => {
    const before = ordersNow();
    const p = await nextProposal(fake.callsOf('editMessageText').at(-1)!.seq);
    expect(ordersNow()).toBe(before);
    const after = fake.mark;
    const q = fake.pressButton(ADMIN, p.id, p.reject);
    const ans = await fake.waitFor('answerCallbackQuery', (c) => c.body.callback_query_id === q, { after });
    expect(ans.body.text).toMatch(/^Rejected/);
    const ed = await fake.waitFor('editMessageText', (c) => Number(c.body.message_id) === p.id, { after });
    expect(seen(ed)).toMatch(/Rejected by ada_admin \(telegram\)/);
    expect(ordersNow()).toBe(before);
  });

  it('an expired proposal places nothing and its prompt says so', async () => {
    const before = ordersNow();
    const p = await nextProposal(fake.callsOf('editMessageText').at(-1)!.seq);
    const after = fake.mark;
    wall += 11_000; // past approvals.timeoutSec
    h.bot.approvals.sweep();
    const ed = await fake.waitFor('editMessageText', (c) => Number(c.body.message_id) === p.id, { after });
    expect(seen(ed)).toMatch(/expired/);
    expect(seen(ed)).toMatch(/nothing was placed/);
    expect(ordersNow()).toBe(before);
    // A late press gets a toast, nothing else.
    const a = fake.mark;
    const q = fake.pressButton(TRADER, p.id, p.approve);
    const ans = await fake.waitFor('answerCallbackQuery', (c) => c.body.callback_query_id === q, { after: a });
    expect(ans.body.text).toMatch(/Already expired/);
    expect(ordersNow()).toBe(before);
  });
});
