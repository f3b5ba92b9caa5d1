// Proposals that act on an open trade name it: an exit (or scale-out) and an add say "T<id>" in the
// prompt and in the one-line summary (the approval_pending alert, the decided copies).
import { afterEach, describe, expect, it } from 'vitest';
import { ApprovalService } from '../../src/chat/approvals.ts';
import { Notifier } from '../../src/chat/transport.ts';
import type { ChatUser } from '../../src/chat/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { tradeId } from '../../src/engine/trades.ts';
import type { Signal } from '../../src/core/types.ts';
import { rig, SYM } from '../helpers/engine-rig.ts';
import { RecordingTransport } from '../helpers/recording-transport.ts';

const ada: ChatUser = { transport: 'telegram', id: '1', name: 'ada', role: 'trader' };
const started: ApprovalService[] = [];
afterEach(() => {
  for (const s of started.splice(0)) s.stop();
});
const settle = () => new Promise((res) => setTimeout(res, 20));

function setup(script: Parameters<typeof rig>[0], extra: Partial<Signal> = {}) {
  const chat = new RecordingTransport();
  const notifier = new Notifier((_t, e) => {
    throw e;
  });
  notifier.add(chat);
  const cfg = { ...parseConfig({}).approvals, mode: 'always' as const, timeoutSec: 600 };
  let svc!: ApprovalService;
  const r = rig(script, {
    extra,
    limits: { stopLossPct: 0.02, maxCapitalInUse: 1, pyramidMaxAdds: 2, pyramidMinStepPct: 0.01 },
    approvals: (p) => (svc = new ApprovalService(p.journal, notifier, { now: () => Date.UTC(2030, 0, 1) }, silentLogger(), p.alerts, cfg)),
  });
  svc.attach(r.engine);
  started.push(svc);
  const approve = (id: number) => svc.onButton(ada, ['p', String(id), r.journal.getProposal(id)!.nonce, 'a']);
  return { r, chat, approve };
}

describe('proposals name the trade they act on', () => {
  it('an entry names none; an add and a scale-out name T<id> in the prompt and the summary', async () => {
    const { r, chat, approve } = setup({ 0: 'enter_long', 3: 'enter_long', 5: 'exit_long' }, { fraction: 0.5 });
    r.candle(100, 100, 100, 100);
    await settle();
    expect(chat.posts[0]!.reply.text).not.toMatch(/Trade/);
    await approve(1);
    r.candle(100, 100, 100, 100); // filled
    const t = tradeId(r.engine.portfolio.positions.get(SYM)!);
    r.candle(101, 101, 101, 101);
    r.candle(102, 102, 102, 102); // +2%: an add is proposed
    await settle();
    const add = chat.posts.at(-1)!.reply;
    expect(add.text).toMatch(new RegExp(`Trade:\\s+${t} \\(an add to it\\)`));
    await approve(2);
    r.candle(102, 102, 102, 102); // add filled
    r.candle(103, 103, 103, 103); // exit half: proposed
    await settle();
    const exit = chat.posts.at(-1)!.reply;
    expect(exit.text).toMatch(new RegExp(`Trade:\\s+${t} \\(closes all or part of it\\)`));
    // /alerts lists the journaled alert by its title: the trade is in it.
    const journaled = r.journal.recentAlerts(1)[0]!;
    expect(journaled).toMatchObject({ type: 'approval_pending', title: `Trade proposal #3 (${t})` });
    expect(journaled.message).toContain(`exit of trade ${t}`);
    const res = await approve(3);
    expect(res.toast).toMatch(/^Approved: placed sk-/);
    await settle();
    expect(chat.edits.at(-1)!.reply.text).toContain(`exit of trade ${t}`);
    const q = r.engine.portfolio.positions.get(SYM)!.qty;
    r.candle(103, 103, 103, 103);
    expect(r.engine.portfolio.positions.get(SYM)!.qty).toBeCloseTo(q / 2, 3); // the approved scale-out stays partial
  });

  it('an exit approved after the trade shrank says what it sells, beside what was proposed', async () => {
    const { r, chat, approve } = setup({ 0: 'enter_long', 3: 'exit_long' });
    r.candle(100, 100, 100, 100);
    await settle();
    await approve(1);
    r.candle(100, 100, 100, 100); // filled
    const q = r.engine.portfolio.positions.get(SYM)!.qty;
    r.candle(101, 101, 101, 101);
    r.candle(101, 101, 101, 101); // exit proposed for the whole trade
    await settle();
    expect(chat.posts.at(-1)!.reply.text).toMatch(/SELL \(exit\)/);
    const quarter = Math.floor((q / 4) * 1e4) / 1e4; // (the rig's step: 0.0001)
    r.engine.closePosition(SYM, 'ada', 'manual', undefined, quarter); // the trader closes a quarter meanwhile
    r.candle(101, 101, 101, 101);
    const left = r.engine.portfolio.positions.get(SYM)!.qty;
    expect(left).toBeCloseTo(q - quarter, 6);
    const res = await approve(2);
    expect(res.toast).toMatch(/^Approved: placed sk-\S+ for [\d.]+ \(proposed [\d.]+: what is left of the trade to close\)/);
    r.candle(101, 101, 101, 101);
    expect(r.engine.portfolio.positions.get(SYM)).toBeUndefined();
  });
});
