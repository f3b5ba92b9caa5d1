import { randomBytes } from 'node:crypto';
import type { AlertSink } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Config } from '../config/schema.ts';
import type { ApprovalGate, Engine, Proposal } from '../engine/engine.ts';
import type { Journal, ProposalRow } from '../journal/journal.ts';
import type { ButtonResult } from './dispatcher.ts';
import { STALE_BUTTON } from './dispatcher.ts';
import { kv, money, price, qty, utc } from './format.ts';
import type { ApprovalControls } from './services.ts';
import type { Notifier } from './transport.ts';
import { hasRole, type ChatUser, type MessageRef, type Reply } from './types.ts';

type Mode = 'off' | 'always' | 'above';

interface Pending {
  row: ProposalRow;
  proposal: Proposal;
}

const who = (u: ChatUser) => `${u.name ?? u.id} (${u.transport})`;

/**
 * Trade-confirmation prompts. With approvals on, each order the engine wants to place becomes a
 * proposal: journaled, posted with Approve / Reject buttons to every transport, and decided once —
 * the first decision wins and every copy of the prompt is edited to say who decided (or that it
 * expired). Button payloads carry the proposal id and a random nonce, so forged, replayed or stale
 * presses do nothing. Pending proposals survive restarts.
 */
export class ApprovalService implements ApprovalGate, ApprovalControls {
  private engine: Engine | undefined;
  private readonly pending = new Map<number, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private waiters: Array<() => void> = [];
  private current: { mode: Mode; aboveNotional: number };

  constructor(
    private readonly journal: Journal,
    private readonly notifier: Notifier,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly alerts: AlertSink,
    private readonly cfg: Config['approvals'],
  ) {
    this.current = journal.getState('approvals', { mode: cfg.mode, aboveNotional: cfg.aboveNotional });
  }

  /** Attach the engine and pick up proposals left pending by a previous run. */
  attach(engine: Engine): void {
    this.engine = engine;
    engine.approvals = this;
    for (const row of this.journal.pendingProposals()) {
      const proposal = row.payload as unknown as Proposal;
      this.pending.set(row.id, { row, proposal });
      engine.holdForProposal(proposal.signal.symbol);
    }
    if (this.pending.size) this.sweep();
    this.timer = setInterval(() => this.sweep(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  // ---- ApprovalGate (called by the engine) ----

  required(x: { notional: number }): boolean {
    const m = this.current;
    return m.mode === 'always' || (m.mode === 'above' && x.notional >= m.aboveNotional);
  }

  propose(p: Proposal): void {
    const now = this.clock.now();
    const nonce = randomBytes(6).toString('hex');
    const expiresAt = now + this.cfg.timeoutSec * 1000;
    const id = this.journal.insertProposal({
      nonce,
      decisionId: p.decisionId,
      symbol: p.signal.symbol,
      payload: p as unknown as Record<string, unknown>,
      status: 'pending',
      createdAt: now,
      expiresAt,
    });
    const row = this.journal.getProposal(id)!;
    this.pending.set(id, { row, proposal: p });
    this.journal.recordAlert(
      { type: 'approval_pending', severity: 'warning', title: `Trade proposal #${id}`, message: this.summary(p), ts: now },
      'sent',
    );
    void this.post(row, p);
  }

  private async post(row: ProposalRow, p: Proposal): Promise<void> {
    const refs = await this.notifier.broadcast(this.promptReply(row, p), { type: 'approval_pending', severity: 'warning' });
    for (const r of refs) this.journal.addProposalMessage(row.id, { transport: r.transport, chatId: r.chatId, messageId: r.messageId });
    const cur = this.pending.get(row.id);
    if (cur) cur.row = this.journal.getProposal(row.id)!;
    else await this.editAll(row.id); // decided while we were posting: bring the new copies up to date
  }

  summary(p: Proposal): string {
    const r = p.request;
    const size = r.qty !== undefined ? `${qty(r.qty)} ${p.signal.symbol.split('/')[0]}` : `${money(r.quoteQty ?? 0)} worth`;
    return `${r.side.toUpperCase()} ${size} ${p.signal.symbol} at ~${price(p.signal.price)} (notional ~${money(p.notional)})`;
  }

  private promptReply(row: ProposalRow, p: Proposal): Reply {
    const r = p.request;
    const lines: Array<[string, string]> = [
      ['Symbol', p.signal.symbol],
      ['Side', `${r.side.toUpperCase()} (${p.purpose})`],
      ['Size', r.qty !== undefined ? qty(r.qty) : `${money(r.quoteQty ?? 0)} (spend)`],
      ['Price', `~${price(p.signal.price)} (${r.type})`],
      ['Notional', `~${money(p.notional)}`],
      ['Reason', `${p.signal.strategy}: ${p.signal.reason}`],
    ];
    if (p.signal.confidence !== undefined) lines.push(['Confidence', `${(p.signal.confidence * 100).toFixed(0)}%`]);
    if (p.bracket.stopLoss !== undefined) lines.push(['Stop-loss', price(p.bracket.stopLoss)]);
    if (p.bracket.takeProfit !== undefined) lines.push(['Take-profit', price(p.bracket.takeProfit)]);
    lines.push(['Risk', `${p.decision.action}: ${p.decision.reason}`]);
    lines.push(['Expires', utc(row.expiresAt)]);
    return {
      title: `Trade proposal #${row.id}`,
      text: kv(lines),
      mono: true,
      severity: 'warning',
      buttons: [
        [
          { label: 'Approve', data: `p:${row.id}:${row.nonce}:a`, style: 'success' },
          { label: 'Reject', data: `p:${row.id}:${row.nonce}:r`, style: 'danger' },
        ],
      ],
    };
  }

  private decidedReply(row: ProposalRow, p: Proposal): Reply {
    const verdict =
      row.status === 'approved'
        ? `Approved by ${row.decidedBy}`
        : row.status === 'rejected'
          ? `Rejected by ${row.decidedBy}`
          : row.status === 'expired'
            ? 'Expired without a decision: nothing was placed'
            : `Failed: ${row.detail ?? ''}`;
    return {
      title: `Trade proposal #${row.id} — ${row.status}`,
      text: `${this.summary(p)}\n${verdict}${row.decidedAt ? ` at ${utc(row.decidedAt)}` : ''}${row.detail && row.status !== 'failed' ? `\n${row.detail}` : ''}`,
      buttons: [],
      severity: row.status === 'approved' ? 'info' : 'warning',
    };
  }

  private async editAll(id: number): Promise<void> {
    const row = this.journal.getProposal(id);
    if (!row) return;
    const p = row.payload as unknown as Proposal;
    const refs = row.messages.map((m) => m as unknown as MessageRef);
    await this.notifier.edit(refs, this.decidedReply(row, p));
  }

  // ---- decisions ----

  /** Button handler for payloads "p:<id>:<nonce>:<a|r>". */
  async onButton(user: ChatUser, parts: string[]): Promise<ButtonResult> {
    const [, idS, nonce, choice] = parts;
    const id = Number(idS);
    const row = Number.isInteger(id) ? this.journal.getProposal(id) : undefined;
    const audit = (outcome: string, detail: string) =>
      this.journal.recordCommand({
        ts: this.clock.now(),
        transport: user.transport,
        userId: user.id,
        ...(user.name ? { userName: user.name } : {}),
        ...(user.role ? { role: user.role } : {}),
        command: 'approval',
        args: `#${idS ?? '?'} ${choice === 'a' ? 'approve' : choice === 'r' ? 'reject' : String(choice)}`,
        outcome,
        detail,
      });
    if (!row || row.nonce !== nonce || (choice !== 'a' && choice !== 'r')) {
      audit('invalid', 'unknown or forged proposal button');
      return { toast: STALE_BUTTON };
    }
    if (!hasRole(user.role, 'trader')) {
      audit('refused', 'needs trader');
      return { toast: 'Only traders and admins can decide trade proposals.' };
    }
    if (row.status !== 'pending') {
      audit('invalid', `already ${row.status}`);
      return { toast: `Already ${row.status}${row.decidedBy ? ` by ${row.decidedBy}` : ''}.` };
    }
    if (this.clock.now() > row.expiresAt) {
      await this.finish(id, 'expired', null);
      audit('expired', 'pressed after expiry');
      return { toast: 'This proposal has expired: nothing was placed.' };
    }
    const outcome = choice === 'a' ? 'approved' : 'rejected';
    const r = await this.finish(id, outcome, who(user));
    audit(outcome === 'approved' ? (r.placed ? 'approved' : 'approved_not_placed') : 'rejected', r.message);
    return { toast: `${outcome === 'approved' ? 'Approved' : 'Rejected'}: ${r.message}` };
  }

  /** Decide a proposal once (first decision wins), act on it, and update every copy of the prompt. */
  private async finish(
    id: number,
    outcome: 'approved' | 'rejected' | 'expired',
    by: string | null,
  ): Promise<{ placed: boolean; message: string }> {
    const now = this.clock.now();
    if (!this.journal.decideProposal(id, outcome, by, now)) return { placed: false, message: 'already decided' };
    const p = this.pending.get(id);
    this.pending.delete(id);
    const proposal = p?.proposal ?? (this.journal.getProposal(id)!.payload as unknown as Proposal);
    let result = { placed: false, message: outcome === 'expired' ? 'expired: nothing placed' : 'rejected: nothing placed' };
    if (this.engine) result = this.engine.resolveProposal(proposal, outcome, this.cfg.maxPriceDriftPct);
    this.journal.setProposalDetail(id, result.message);
    if (outcome === 'expired') {
      this.alerts.raise({
        type: 'approval_expired',
        severity: 'warning',
        title: `Trade proposal #${id} expired`,
        message: `${this.summary(proposal)}: nothing was placed.`,
      });
    }
    this.log.info({ proposal: id, outcome, by, result: result.message }, 'proposal decided');
    // Every copy of the prompt is updated in the background: the decision doesn't wait for the chats.
    void this.editAll(id).catch((e: unknown) => this.log.error({ err: e, proposal: id }, 'proposal edit failed'));
    this.wake();
    return result;
  }

  /** Expire proposals past their time. Runs every second; tests may call it. */
  sweep(): void {
    const now = this.clock.now();
    for (const [id, p] of this.pending) {
      if (now > p.row.expiresAt) void this.finish(id, 'expired', null).catch((e: unknown) => this.log.error({ err: e }, 'expiry failed'));
    }
  }

  /** Resolves when no proposal is pending (replays hold the candle clock meanwhile). */
  settled(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  private wake(): void {
    if (this.pending.size) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  // ---- ApprovalControls (/approvals) ----

  mode(): { mode: Mode; aboveNotional: number } {
    return { ...this.current };
  }

  setMode(mode: Mode, aboveNotional: number | undefined, by: string): void {
    this.current = { mode, aboveNotional: aboveNotional ?? this.current.aboveNotional };
    this.journal.setState('approvals', this.current, this.clock.now());
    this.log.info({ by, ...this.current }, 'approvals mode changed');
  }

  pendingList(): Array<{ id: number; summary: string; expiresAt: number }> {
    return [...this.pending.values()].map((p) => ({ id: p.row.id, summary: this.summary(p.proposal), expiresAt: p.row.expiresAt }));
  }
}
