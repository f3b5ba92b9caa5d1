// Sleep mode: critical alerts need a human. The first critical alert opens an episode and posts one
// prompt with an "Acknowledge" button to every transport; later critical alerts join the episode
// (the prompt is edited, the deadline stays). If nobody with the trader role acknowledges within
// `alerts.escalation.unacknowledgedMin`, the bot pauses new entries (or flattens, then pauses),
// journals it (audit row + runtime state) and announces it. The episode survives restarts.
import { randomBytes } from 'node:crypto';
import type { Alert, AlertSink } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import { writeAudit } from '../chat/audit.ts';
import { actor } from '../chat/helpers.ts';
import { STALE_BUTTON, type ButtonResult } from '../chat/dispatcher.ts';
import type { Topic } from '../chat/transport.ts';
import { hasRole, type ChatUser, type MessageRef, type Reply } from '../chat/types.ts';
import type { CommandAudit } from '../journal/journal.ts';
import { STATE, type EscalationEpisode as Episode, type StateStore } from '../journal/state-keys.ts';
import { counted } from '../core/format.ts';

/** Button payloads: `ack:<nonce>`. */
export const ACK_PREFIX = 'ack';
const MAX_LISTED = 5;

export interface EscalationSettings {
  unacknowledgedMin: number | null;
  action: 'pause' | 'flatten';
}

export interface EscalationOptions {
  settings: EscalationSettings;
  wall: Clock;
  log: Logger;
  alerts: AlertSink;
  journal: StateStore & { recordCommand(c: CommandAudit): number };
  notifier: {
    broadcast(reply: Reply, topic: Topic): Promise<MessageRef[]>;
    edit(refs: readonly MessageRef[], reply: Reply): Promise<void>;
  };
  controls: { pause(by: string): void; flatten(by: string): { cancelled: number; closing: string[] } };
  observer?: { pending(on: boolean): void; escalated(action: string): void };
}

const hhmm = (t: number) => `${new Date(t).toISOString().slice(11, 16)} UTC`;

export class Escalation {
  private episode: Episode | null;
  private timer: NodeJS.Timeout | undefined;
  /** Prompt posting/editing in flight: edits wait for the post so they know the message ids. */
  private posting: Promise<void> = Promise.resolve();

  constructor(private readonly o: EscalationOptions) {
    this.episode = STATE.escalation.read(o.journal);
    o.observer?.pending(this.episode !== null);
  }

  get enabled(): boolean {
    return this.o.settings.unacknowledgedMin !== null;
  }

  get pending(): Readonly<Episode> | null {
    return this.episode;
  }

  start(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => this.tick(), 5_000);
    this.timer.unref();
    this.tick(); // an episode left open by a previous run that is already overdue acts now
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Every raised alert passes here (the alert service's observer). */
  observe(alert: Alert): void {
    if (!this.enabled || alert.severity !== 'critical' || alert.type === 'escalation') return;
    const now = this.o.wall.now();
    const ep = this.episode;
    if (ep) {
      ep.count++;
      ep.alerts = [...ep.alerts, { ts: now, title: alert.title }].slice(-MAX_LISTED);
      this.save(now);
      this.queue(() => this.o.notifier.edit(ep.messages, this.prompt(ep)));
      return;
    }
    const fresh: Episode = {
      nonce: randomBytes(6).toString('hex'),
      since: now,
      deadline: now + this.o.settings.unacknowledgedMin! * 60_000,
      alerts: [{ ts: now, title: alert.title }],
      count: 1,
      messages: [],
    };
    this.episode = fresh;
    this.save(now);
    this.queue(async () => {
      fresh.messages = await this.o.notifier.broadcast(this.prompt(fresh), { type: 'escalation', severity: 'critical' });
      if (this.episode === fresh) this.save(this.o.wall.now());
    });
  }

  private queue(fn: () => Promise<unknown>): void {
    this.posting = this.posting.then(fn).then(
      () => undefined,
      (e: unknown) => this.o.log.error({ err: errorMessage(e) }, 'escalation prompt not delivered'),
    );
  }

  /** Wait for prompt posts and edits (tests, stop). */
  settled(): Promise<void> {
    return this.posting;
  }

  private what(): string {
    return this.o.settings.action === 'flatten' ? 'cancel every order, close every position and pause' : 'pause new entries';
  }

  private prompt(ep: Episode): Reply {
    const list = ep.alerts.map((a) => `• ${hhmm(a.ts)} ${a.title}`).join('\n');
    const more = ep.count > ep.alerts.length ? `\n… and ${ep.count - ep.alerts.length} earlier` : '';
    return {
      title: `${ep.count} critical alert${ep.count > 1 ? 's' : ''}: please acknowledge`,
      text: `${list}${more}\n\nIf nobody acknowledges by ${hhmm(ep.deadline)}, the bot will ${this.what()}.`,
      severity: 'critical',
      buttons: [[{ label: 'Acknowledge', data: `${ACK_PREFIX}:${ep.nonce}`, style: 'primary' }]],
    };
  }

  private save(now: number): void {
    STATE.escalation.write(this.o.journal, this.episode, now);
    this.o.observer?.pending(this.episode !== null);
  }

  private audit(user: { transport: string; id: string; name?: string; role?: string | null }, outcome: string, detail: string): void {
    writeAudit(this.o.journal, { ts: this.o.wall.now(), user, command: 'acknowledge', args: '', outcome, detail });
  }

  /** The Acknowledge button. */
  async onButton(user: ChatUser, parts: string[]): Promise<ButtonResult> {
    const ep = this.episode;
    if (!ep || parts[1] !== ep.nonce) {
      this.audit(user, 'invalid', 'stale or forged acknowledge button');
      return { toast: STALE_BUTTON };
    }
    if (!hasRole(user.role, 'trader')) {
      this.audit(user, 'refused', 'needs trader');
      return { toast: 'Acknowledging needs the trader role.' };
    }
    const now = this.o.wall.now();
    const by = actor(user);
    this.episode = null;
    this.save(now);
    const text = `Acknowledged by ${by} at ${hhmm(now)}: ${ep.count} critical alert${ep.count > 1 ? 's' : ''}. Nothing else was done.`;
    this.audit(user, 'ok', text);
    this.o.log.info({ by, alerts: ep.count }, 'critical alerts acknowledged');
    await this.posting;
    const others = ep.messages.filter((m) => m.transport !== user.transport);
    if (others.length) this.queue(() => this.o.notifier.edit(others, { title: 'Acknowledged', text, buttons: [] }));
    return { toast: 'Acknowledged', edit: { title: 'Acknowledged', text, buttons: [] } };
  }

  /** Act on an overdue episode. Called by the timer; tests call it directly. */
  tick(): void {
    const ep = this.episode;
    if (!ep || !this.enabled || this.o.wall.now() < ep.deadline) return;
    const now = this.o.wall.now();
    const mins = Math.round((now - ep.since) / 60_000);
    const by = `escalation (${ep.count} critical alert${ep.count > 1 ? 's' : ''} unacknowledged for ${mins} min)`;
    this.episode = null;
    this.save(now);
    let done: string;
    try {
      if (this.o.settings.action === 'flatten') {
        const r = this.o.controls.flatten(by);
        this.o.controls.pause(by);
        done = `flattened (${counted(r.cancelled, 'order')} cancelled, closing ${r.closing.join(', ') || 'no positions'}) and paused`;
      } else {
        this.o.controls.pause(by);
        done = 'paused new entries (exits and stops still run)';
      }
    } catch (e) {
      done = `tried to ${this.o.settings.action} but failed: ${errorMessage(e)}`;
    }
    const text = `Nobody acknowledged ${ep.count} critical alert${ep.count > 1 ? 's' : ''} since ${hhmm(ep.since)}: the bot ${done}. /resume when you have looked.`;
    writeAudit(this.o.journal, {
      ts: now,
      user: { transport: 'system', id: 'escalation' },
      command: 'escalate',
      args: this.o.settings.action,
      outcome: this.o.settings.action === 'flatten' ? 'flattened' : 'paused',
      detail: text,
    });
    this.o.log.error({ action: this.o.settings.action, alerts: ep.count }, 'critical alerts unacknowledged: escalated');
    this.o.observer?.escalated(this.o.settings.action);
    this.o.alerts.raise({
      type: 'escalation',
      severity: 'critical',
      title: `Unacknowledged: bot ${this.o.settings.action === 'flatten' ? 'flattened and paused' : 'paused'}`,
      message: text,
    });
    this.queue(() => this.o.notifier.edit(ep.messages, { title: 'Not acknowledged in time', text, buttons: [] }));
  }
}
