import { votesText } from '../models/votes-text.ts';
import { randomBytes } from 'node:crypto';
import type { AlertSink } from '../core/alerts.ts';
import { wallTimeNote, type Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Config } from '../config/schema.ts';
import type { Engine } from '../engine/engine.ts';
import { writeAudit } from './audit.ts';
import { PROPOSAL_TOPIC } from './routes.ts';
import type { ApprovalGate, Proposal } from '../engine/ports.ts';
import type { Journal, ProposalRow } from '../journal/journal.ts';
import { STATE } from '../journal/state-keys.ts';
import type { ButtonResult } from './dispatcher.ts';
import { STALE_BUTTON } from './dispatcher.ts';
import { duration, forMarket, kv, money, utc } from './format.ts';
import type { ApprovalControls, ProposalFilter } from './services.ts';
import type { Notifier } from './transport.ts';
import { hasRole, type Button, type ChatUser, type MessageRef, type Reply } from './types.ts';

type Mode = 'off' | 'always' | 'above';
type Outcome = 'approved' | 'rejected' | 'expired' | 'withdrawn';
/** Rows of decision buttons in a list (Discord allows five action rows). */
const MAX_LIST_ROWS = 5;

interface Pending {
  row: ProposalRow;
  proposal: Proposal;
}

const who = (u: ChatUser) => `${u.name ?? u.id} (${u.transport})`;

/**
 * Trade-confirmation prompts. With approvals on, each order the engine wants to place becomes a
 * proposal: journaled, posted with Approve / Reject buttons to every transport, and decided once —
 * the first decision wins and every copy of the prompt is edited to say who decided (or that it
 * expired, or was withdrawn by a command that made it moot). Expiry runs on the wall clock: people
 * answer in real time, whatever clock the engine is on. Button payloads carry the proposal id and a random nonce, so forged, replayed or stale
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
    this.current = STATE.approvals({ mode: cfg.mode, aboveNotional: cfg.aboveNotional }).read(journal);
  }

  /** Attach the engine (built with this gate) and pick up proposals left pending by a previous run. */
  attach(engine: Engine): void {
    this.engine = engine;
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
    this.nudge(); // a held replay loop sees the bot stopping
  }

  // ---- ApprovalGate (called by the engine) ----

  required(x: { notional: number }): boolean {
    if (!this.engine) return false; // not attached yet: the bot has not started
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
      {
        type: 'approval_pending',
        severity: 'warning',
        title: `Trade proposal #${id}${p.trade !== undefined ? ` (${p.trade})` : ''}`,
        message: this.summary(p),
        ts: now,
      },
      'sent',
    );
    void this.post(row, p);
  }

  private async post(row: ProposalRow, p: Proposal): Promise<void> {
    const refs = await this.notifier.broadcast(this.promptReply(row, p), PROPOSAL_TOPIC);
    for (const r of refs) this.journal.addProposalMessage(row.id, { transport: r.transport, chatId: r.chatId, messageId: r.messageId });
    const cur = this.pending.get(row.id);
    if (cur) cur.row = this.journal.getProposal(row.id)!;
    else await this.editAll(row.id); // decided while we were posting: bring the new copies up to date
  }

  summary(p: Proposal): string {
    const r = p.request;
    const m = forMarket(p.market);
    const size = r.qty !== undefined ? m.qty(r.qty) : `${money(r.quoteQty ?? 0)} worth`;
    const trade = p.trade !== undefined ? `, ${p.purpose === 'entry' ? 'add to' : 'exit of'} trade ${p.trade}` : '';
    return `${r.side.toUpperCase()} ${size} ${p.signal.symbol} at ~${m.price(p.signal.price)} (notional ~${money(p.notional)})${trade}`;
  }

  private promptReply(row: ProposalRow, p: Proposal): Reply {
    const r = p.request;
    const m = forMarket(p.market);
    const lines: Array<[string, string]> = [
      ['Symbol', p.signal.symbol],
      ['Side', `${r.side.toUpperCase()} (${p.purpose})`],
      ...(p.trade !== undefined
        ? [['Trade', `${p.trade} (${p.purpose === 'entry' ? 'an add to it' : 'closes all or part of it'})`] as [string, string]]
        : []),
      ['Size', r.qty !== undefined ? m.qty(r.qty) : `${money(r.quoteQty ?? 0)} (spend)`],
      ['Price', `~${m.price(p.signal.price)} (${r.type})`],
      ['Notional', `~${money(p.notional)}`],
      ['Reason', `${p.signal.strategy}: ${p.signal.reason}`],
    ];
    if (p.signal.confidence !== undefined) lines.push(['Confidence', `${(p.signal.confidence * 100).toFixed(0)}%`]);
    if (p.signal.votes?.length) lines.push(['Votes', votesText(p.signal.votes)]);
    if (p.bracket.stopLoss !== undefined) lines.push(['Stop-loss', m.price(p.bracket.stopLoss)]);
    if (p.bracket.takeProfit !== undefined) lines.push(['Take-profit', m.price(p.bracket.takeProfit)]);
    lines.push(['Risk', `${p.decision.action}: ${p.decision.reason}`]);
    lines.push(['Expires', `${utc(row.expiresAt)}${this.wallLabel()}, ${duration(row.expiresAt - row.createdAt)} to decide`]);
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

  /** " (wall clock)" when the engine keeps another time, so the two are never mixed up. */
  private wallLabel(): string {
    return wallTimeNote(this.engine?.clockKind);
  }

  /** One line that says what became of a proposal, once. */
  private verdict(row: ProposalRow): { line: string; placed: boolean } {
    const by = row.decidedBy ?? '?';
    const detail = row.detail ?? '';
    switch (row.status) {
      case 'approved': {
        const placed = detail.startsWith('placed');
        return { line: `Approved by ${by} — ${detail || 'placed'}`, placed };
      }
      case 'rejected':
        return { line: `Rejected by ${by}: nothing was placed`, placed: false };
      case 'expired':
        return { line: 'Expired without a decision: nothing was placed', placed: false };
      case 'withdrawn':
        return { line: `Withdrawn — ${detail}: nothing was placed`, placed: false };
      default:
        return { line: `Failed: ${detail}`, placed: false };
    }
  }

  private decidedReply(row: ProposalRow, p: Proposal): Reply {
    const v = this.verdict(row);
    const notPlaced = row.status === 'approved' && !v.placed;
    return {
      title: `Trade proposal #${row.id} — ${row.status}${notPlaced ? ', not placed' : ''}`,
      text: `${this.summary(p)}\n${v.line}${row.decidedAt ? `\nat ${utc(row.decidedAt)}${this.wallLabel()}` : ''}`,
      buttons: [],
      severity: row.status === 'approved' && v.placed ? 'info' : 'warning',
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

  /** Button handler for payloads "p:<id>:<nonce>:<a|r>[:l]" (l: pressed in the /approvals list). */
  async onButton(user: ChatUser, parts: string[]): Promise<ButtonResult> {
    const [, idS, nonce, choice, from] = parts;
    const list = from === 'l';
    const id = Number(idS);
    const row = Number.isInteger(id) ? this.journal.getProposal(id) : undefined;
    const audit = (outcome: string, detail: string) =>
      writeAudit(this.journal, {
        ts: this.clock.now(),
        user,
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
    const refreshed = (toast: string): ButtonResult => (list ? { toast, edit: this.listReply() } : { toast });
    if (row.status !== 'pending') {
      audit('invalid', `already ${row.status}`);
      return refreshed(`Already ${row.status}${row.decidedBy ? ` by ${row.decidedBy}` : ''}.`);
    }
    if (this.clock.now() > row.expiresAt) {
      await this.finish(id, 'expired', null);
      audit('expired', 'pressed after expiry');
      return refreshed('This proposal has expired: nothing was placed.');
    }
    const outcome = choice === 'a' ? 'approved' : 'rejected';
    const r = await this.finish(id, outcome, who(user));
    audit(outcome === 'approved' ? (r.placed ? 'approved' : 'approved_not_placed') : 'rejected', r.message);
    if (outcome === 'rejected') return refreshed(`Rejected: ${r.message.replace(/^rejected:\s*/, '')}`);
    return refreshed(r.placed ? `Approved: ${r.message}` : `Approved — ${r.message}`);
  }

  /** Withdraw the pending proposals a command made moot (journaled, every copy edited). */
  withdraw(filter: ProposalFilter, why: string, by: string): number {
    let n = 0;
    for (const [id, p] of [...this.pending]) {
      const exit = p.proposal.purpose !== 'entry';
      if (filter.symbol !== undefined && p.proposal.signal.symbol !== filter.symbol) continue;
      if (filter.kind !== undefined && (filter.kind === 'exit') !== exit) continue;
      void this.finish(id, 'withdrawn', by, why).catch((e: unknown) => this.log.error({ err: e, proposal: id }, 'withdraw failed'));
      n++;
    }
    return n;
  }

  /** Decide a proposal once (first decision wins), act on it, and update every copy of the prompt. */
  private async finish(id: number, outcome: Outcome, by: string | null, why?: string): Promise<{ placed: boolean; message: string }> {
    const now = this.clock.now();
    if (!this.journal.decideProposal(id, outcome, by, now)) return { placed: false, message: 'already decided' };
    const p = this.pending.get(id);
    this.pending.delete(id);
    const proposal = p?.proposal ?? (this.journal.getProposal(id)!.payload as unknown as Proposal);
    let result = { placed: false, message: `${outcome}: nothing placed` };
    if (this.engine) result = this.engine.resolveProposal(proposal, outcome, this.cfg.maxPriceDriftPct);
    this.journal.setProposalDetail(id, why ?? result.message);
    if (outcome === 'expired') {
      // Journaled only: the edited prompt is what tells the trader (once).
      this.journal.recordAlert(
        {
          type: 'approval_expired',
          severity: 'warning',
          title: `Trade proposal #${id} expired`,
          message: `${this.summary(proposal)}: nothing was placed.`,
          ts: now,
        },
        'sent',
      );
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

  /** Resolves when no proposal is pending, or on nudge() (replays hold the candle clock meanwhile). */
  settled(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Wake whoever waits in settled() to look again (a trader's order must not wait on a proposal). */
  nudge(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  private wake(): void {
    if (this.pending.size === 0) this.nudge();
  }

  // ---- ApprovalControls (/approvals) ----

  mode(): { mode: Mode; aboveNotional: number } {
    return { ...this.current };
  }

  setMode(mode: Mode, aboveNotional: number | undefined, by: string): void {
    this.current = { mode, aboveNotional: aboveNotional ?? this.current.aboveNotional };
    STATE.approvals(this.current).write(this.journal, this.current, this.clock.now());
    this.log.info({ by, ...this.current }, 'approvals mode changed');
  }

  pendingList(): Array<{ id: number; summary: string; expiresAt: number }> {
    return [...this.pending.values()].map((p) => ({ id: p.row.id, summary: this.summary(p.proposal), expiresAt: p.row.expiresAt }));
  }

  /** The pending proposals with Approve / Reject buttons (the /approvals list). */
  pendingView(): { text: string; buttons: Button[][] } {
    const now = this.clock.now();
    const all = [...this.pending.values()];
    if (all.length === 0) return { text: 'No pending proposals.', buttons: [] };
    const lines = all.map((p) => `#${p.row.id} ${this.summary(p.proposal)} — expires in ${duration(p.row.expiresAt - now)}`);
    const buttons = all.slice(0, MAX_LIST_ROWS).map((p) => [
      { label: `Approve #${p.row.id}`, data: `p:${p.row.id}:${p.row.nonce}:a:l`, style: 'success' as const },
      { label: `Reject #${p.row.id}`, data: `p:${p.row.id}:${p.row.nonce}:r:l`, style: 'danger' as const },
    ]);
    const more =
      all.length > MAX_LIST_ROWS ? `\n(buttons for the first ${MAX_LIST_ROWS}; each proposal's own prompt has its buttons too)` : '';
    return { text: `Pending:\n${lines.join('\n')}${more}`, buttons };
  }

  private listReply(): Reply {
    const v = this.pendingView();
    return { title: 'Trade approvals', text: v.text, buttons: v.buttons };
  }
}
