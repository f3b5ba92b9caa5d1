// Live trading starts only with an admin's explicit go: --confirm-live, or the Go live button. Until
// then entries are paused (exits, stops and reconciliation run as usual).
import { randomBytes } from 'node:crypto';
import { STALE_BUTTON, type ButtonResult } from '../chat/dispatcher.ts';
import { writeAudit } from '../chat/audit.ts';
import { actor, isLiveHold, LIVE_HOLD } from '../chat/helpers.ts';
import type { Notifier } from '../chat/transport.ts';
import type { ChatUser, MessageRef } from '../chat/types.ts';
import type { Config } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Engine } from '../engine/engine.ts';
import type { Journal } from '../journal/journal.ts';

/** Button data prefix of the go-live prompt (`L:<nonce>:y|n`). */
export const GO_LIVE_PREFIX = 'L';

export interface GoLiveDeps {
  config: Config;
  engine: Pick<Engine, 'pause' | 'resume' | 'risk'>;
  journal: Pick<Journal, 'recordCommand'>;
  notifier: Notifier;
  wall: Clock;
  log: Logger;
}

export class GoLive {
  private nonce: string | undefined;
  private prompt: MessageRef[] = [];

  constructor(private readonly d: GoLiveDeps) {}

  /** Pause entries and ask the admins, unless the command line already confirmed. */
  async arm(o: { venue: string; testnet: boolean; confirmed: boolean }): Promise<void> {
    const env = o.testnet ? 'TESTNET (test money)' : 'LIVE — REAL MONEY';
    if (o.confirmed) {
      this.d.log.warn({ venue: o.venue, env }, 'live trading confirmed on the command line');
      return;
    }
    const cfg = this.d.config;
    this.d.engine.pause(LIVE_HOLD);
    this.nonce = randomBytes(6).toString('hex');
    this.prompt = await this.d.notifier.broadcast(
      {
        title: `Start trading ${env} on ${o.venue}?`,
        text:
          `${cfg.market.symbols.join(', ')} ${cfg.market.type}, strategy ${cfg.strategy.name}. ` +
          `New entries are paused until an admin confirms; exits and stops are managed meanwhile.`,
        severity: 'critical',
        buttons: [
          [
            { label: 'Go live', data: `${GO_LIVE_PREFIX}:${this.nonce}:y`, style: 'danger' },
            { label: 'Stay paused', data: `${GO_LIVE_PREFIX}:${this.nonce}:n`, style: 'secondary' },
          ],
        ],
      },
      { type: 'engine', severity: 'critical' },
    );
  }

  async onButton(user: ChatUser, parts: string[]): Promise<ButtonResult> {
    const [, nonce, yn] = parts;
    const audit = (outcome: string, detail: string) =>
      writeAudit(this.d.journal, { ts: this.d.wall.now(), user, command: 'golive', args: yn ?? '', outcome, detail });
    if (!this.nonce || nonce !== this.nonce || (yn !== 'y' && yn !== 'n')) {
      audit('invalid', 'stale or forged go-live button');
      return { toast: STALE_BUTTON };
    }
    if (user.role !== 'admin') {
      audit('refused', 'needs admin');
      return { toast: 'Only an admin can start live trading.' };
    }
    this.nonce = undefined;
    const by = actor(user);
    // An admin's /resume may have started trading already: the prompt then says so, not "stay paused".
    const rs = this.d.engine.risk.state();
    const held = isLiveHold(rs);
    const text = !held
      ? `Live trading had already been started from chat${rs.paused ? ` (paused since by ${rs.pausedBy ?? 'someone'})` : ''}: nothing changed.`
      : yn === 'y'
        ? `Live trading confirmed by ${by}.`
        : `${by} chose to stay paused. An admin's /resume starts trading later.`;
    if (held && yn === 'y') this.d.engine.resume(by);
    audit(!held ? 'invalid' : yn === 'y' ? 'confirmed' : 'cancelled', text);
    await this.d.notifier.edit(this.prompt, { title: 'Live start', text, buttons: [] });
    return { toast: text };
  }
}
