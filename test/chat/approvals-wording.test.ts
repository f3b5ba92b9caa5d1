// How a decided trade proposal reads: approved but refused by the risk re-check says so ("approved by X —
// not placed: …"), an expiry is said once, a withdrawal names what made it moot. The engine on the paper
// venue with the approval service attached; a recording transport stands in for the chats.
import { afterEach, describe, expect, it } from 'vitest';
import { ApprovalService } from '../../src/chat/approvals.ts';
import { Notifier } from '../../src/chat/transport.ts';
import type { ChatUser } from '../../src/chat/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { rig, type Rig } from '../helpers/engine-rig.ts';
import { RecordingTransport } from '../helpers/recording-transport.ts';

const ada: ChatUser = { transport: 'telegram', id: '1', name: 'ada', role: 'trader' };
const started: ApprovalService[] = [];
afterEach(() => {
  for (const s of started.splice(0)) s.stop();
});

function setup(script: Parameters<typeof rig>[0]) {
  const wall = { t: Date.UTC(2030, 0, 1), now: () => wall.t };
  const chat = new RecordingTransport();
  const notifier = new Notifier((_t, e) => {
    throw e;
  });
  notifier.add(chat);
  const cfg = { ...parseConfig({}).approvals, mode: 'always' as const, timeoutSec: 60 };
  let svc!: ApprovalService;
  const r = rig(script, {
    limits: { stopLossPct: 0.02 },
    approvals: (p) => (svc = new ApprovalService(p.journal, notifier, wall, silentLogger(), p.alerts, cfg)),
  });
  svc.attach(r.engine);
  started.push(svc);
  return { r, wall, chat, svc };
}

const press = (svc: ApprovalService, r: Rig, id: number, choice: 'a' | 'r') =>
  svc.onButton(ada, ['p', String(id), r.journal.getProposal(id)!.nonce, choice]);
const settle = () => new Promise((res) => setTimeout(res, 20));

describe('approvals wording', () => {
  it('approved, then refused by the risk re-check: "Approved by X — not placed: …", in the toast and on every copy', async () => {
    const { r, chat, svc } = setup({ 0: 'enter_long' });
    r.candle(100, 100, 100, 100);
    await settle();
    expect(chat.posts.map((p) => p.reply.title)).toEqual(['Trade proposal #1']);
    r.engine.risk.tripBreaker('test', r.clock.now());
    const res = await press(svc, r, 1, 'a');
    expect(res.toast).toMatch(/^Approved — not placed: risk re-check refused it \(.*circuit breaker/);
    await settle();
    const edit = chat.edits.at(-1)!.reply;
    expect(edit.title).toBe('Trade proposal #1 — approved, not placed');
    expect(edit.text).toMatch(/\nApproved by ada \(telegram\) — not placed: risk re-check refused it/);
    expect(edit.severity).toBe('warning');
    expect(r.journal.count('orders')).toBe(0);
  });

  it("the card shows prices and sizes to the market's steps, as every other message does", async () => {
    const { r, chat } = setup({ 0: 'enter_long' });
    r.candle(100, 100, 100, 100);
    await settle();
    const card = chat.posts[0]!.reply.text;
    expect(card).toMatch(/Price:\s+~100\.00 \(market\)/);
    expect(card).toMatch(/Stop-loss:\s+98\.00\n/);
  });

  it('approved and placed reads as such', async () => {
    const { r, chat, svc } = setup({ 0: 'enter_long' });
    r.candle(100, 100, 100, 100);
    await settle();
    const res = await press(svc, r, 1, 'a');
    expect(res.toast).toMatch(/^Approved: placed sk-/);
    await settle();
    expect(chat.edits.at(-1)!.reply.text).toMatch(/\nApproved by ada \(telegram\) — placed sk-\S+/);
  });

  it('an expired proposal says so once: one line on the prompt, no extra alert in the chats', async () => {
    const { r, wall, chat, svc } = setup({ 0: 'enter_long' });
    r.candle(100, 100, 100, 100);
    await settle();
    wall.t += 61_000;
    svc.sweep();
    await settle();
    const edit = chat.edits.at(-1)!.reply;
    expect(edit.text.match(/nothing was placed|nothing placed/g)).toEqual(['nothing was placed']);
    expect(edit.text).toMatch(/Expired without a decision: nothing was placed/);
    expect(r.alerts.alerts.filter((a) => a.type === 'approval_expired')).toEqual([]); // not sent again as an alert…
    expect(r.journal.recentAlerts(10).map((a) => a.type)).toContain('approval_expired'); // …but journaled
  });

  it('a withdrawn proposal names what made it moot', async () => {
    const { r, chat, svc } = setup({ 0: 'enter_long' });
    r.candle(100, 100, 100, 100);
    await settle();
    expect(svc.withdraw({ kind: 'exit' }, 'made moot by /close (ada)', 'ada')).toBe(0);
    expect(svc.withdraw({ kind: 'entry' }, 'made moot by /pause (ada)', 'ada')).toBe(1);
    await settle();
    expect(r.journal.getProposal(1)!.status).toBe('withdrawn');
    expect(chat.edits.at(-1)!.reply.text).toMatch(/Withdrawn — made moot by \/pause \(ada\): nothing was placed/);
    expect(svc.hasPending).toBe(false);
  });
});
