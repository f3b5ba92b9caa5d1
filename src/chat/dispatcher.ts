import { randomBytes } from 'node:crypto';
import type { Logger } from '../core/logger.ts';
import { scrubSecrets } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import { writeAudit } from './audit.ts';
import { suggestCommand } from './suggest.ts';
import { MAX_ARG_CHARS, parseArgs, parseNamedArgs, tokenize } from './args.ts';
import { usage, type CommandContext, type CommandSpec } from './command.ts';
import type { Services } from './services.ts';
import { hasRole, roleRefusal, type ChatUser, type Reply, type Role } from './types.ts';

/** What a button press produces: a short toast for the presser, and/or an edit of the prompt. */
export interface ButtonResult {
  /** Short notice shown to the presser (Telegram answerCallbackQuery text, Discord ephemeral). */
  toast?: string;
  /** New content for the message that carried the button. */
  edit?: Reply;
  /** An extra message to post. */
  reply?: Reply;
}

/** Handles button payloads with a given prefix (e.g. approvals use "p"). */
export type ButtonHandler = (user: ChatUser, parts: string[]) => Promise<ButtonResult> | ButtonResult;

interface PendingConfirm {
  id: number;
  nonce: string;
  userKey: string;
  command: CommandSpec;
  ctx: CommandContext;
  question: string;
  expiresAt: number;
}

export const STALE_BUTTON = 'This button is no longer valid.';
const NO_LONGER_VALID =
  'This confirmation is no longer valid (it expired, or the bot restarted since it was asked): nothing was done. Send the command again if you still want it.';
const MAX_SWEPT = 1_000;
/** A confirmation nonce: a run's 4-hex tag and 12 random hex digits. */
const RUN_NONCE = /^[0-9a-f]{16}$/;
export const REFUSAL = "Sorry, you're not on this bot's allow-list. Ask its owner to add your user id.";

const userKey = (u: ChatUser) => `${u.transport}:${u.id}`;

/** Longest chat text read as a command; longer is refused unread (a command line is short). */
export const MAX_COMMAND_CHARS = 512;
export { AUDIT_LIMITS, excerpt } from './audit.ts';

/** Every reply leaves scrubbed: a user may have pasted a secret that a validation message quotes back. */
const scrubbed = (r: Reply): Reply => ({
  ...r,
  text: scrubSecrets(r.text),
  ...(r.title !== undefined ? { title: scrubSecrets(r.title) } : {}),
});

/**
 * Turns chat text and button presses into command runs: allow-list and role checks, argument
 * validation, confirmation prompts for destructive commands, and an audit row for every attempt.
 * Bad input gets a clear reply and changes nothing.
 */
export class Dispatcher {
  private readonly byName = new Map<string, CommandSpec>();
  private readonly confirms = new Map<number, PendingConfirm>();
  /** Starts every confirmation nonce of this run: a press of an earlier run's prompt is told apart. */
  private readonly runTag = randomBytes(2).toString('hex');
  /** Nonces of confirmations swept after they expired, newest last (bounded). */
  private readonly swept = new Set<string>();
  private readonly refused = new Set<string>();
  private readonly buttonHandlers = new Map<string, ButtonHandler>();
  private seq = 0;

  constructor(
    readonly commands: CommandSpec[],
    private readonly services: Services,
    private readonly log: Logger,
    private readonly confirmTimeoutMs = 60_000,
  ) {
    for (const c of commands) this.byName.set(c.name, c);
  }

  onButton(prefix: string, handler: ButtonHandler): void {
    this.buttonHandlers.set(prefix, handler);
  }

  /** One audit row per attempt: scrubbed like the logs, and bounded, whatever a stranger sends. */
  private audit(user: ChatUser, command: string, args: string, outcome: string, detail?: string): void {
    try {
      writeAudit(this.services.journal, { ts: this.services.clock.now(), user, command, args, outcome, detail });
    } catch (e) {
      this.log.error({ err: e }, 'audit write failed');
    }
  }

  /** Allow-list gate: one polite refusal per unknown user, then silence. */
  private gate(user: ChatUser, what: string, args: string): Reply | null | 'ok' {
    if (user.role) return 'ok';
    const first = !this.refused.has(userKey(user));
    this.refused.add(userKey(user));
    this.audit(user, what, args, 'refused', 'not on the allow-list');
    return first ? { text: REFUSAL } : null;
  }

  /**
   * A line of chat text. Returns the reply, or null when nothing should be said. `named`: the
   * arguments by name (Discord options) instead of from the text, which then only names the command.
   */
  async handleText(user: ChatUser, text: string, named?: Readonly<Record<string, string>>): Promise<Reply | null> {
    const r = await this.answerText(user, text, named);
    return r && scrubbed(r);
  }

  private async answerText(user: ChatUser, text: string, named?: Readonly<Record<string, string>>): Promise<Reply | null> {
    const trimmed = text.trim();
    if (!trimmed) return null;
    if (trimmed.length > MAX_COMMAND_CHARS) {
      const g = this.gate(user, trimmed, '');
      if (g !== 'ok') return g;
      this.audit(user, trimmed, '', 'invalid', `too long: ${trimmed.length} characters`);
      return {
        text: `That is too long for a command (${trimmed.length} characters; at most ${MAX_COMMAND_CHARS}). Send /help for the list.`,
        severity: 'warning',
      };
    }
    const [head = '', ...rest] = tokenize(trimmed);
    const name = head.replace(/^\//, '').replace(/@\S+$/, '').toLowerCase();
    const rawArgs = rest.join(' ');
    const g = this.gate(user, name || trimmed, rawArgs);
    if (g !== 'ok') return g;

    const cmd = this.byName.get(name);
    if (!cmd) {
      this.audit(user, name || '(empty)', rawArgs, 'invalid', 'unknown command');
      const shown = scrubSecrets(head);
      const mine = [...this.byName.values()].filter((c) => hasRole(user.role, c.minRole)).map((c) => c.name);
      const meant = shown === head ? suggestCommand(name, mine) : undefined;
      return {
        text: `Unknown command${shown.length <= MAX_ARG_CHARS / 2 ? ` "${shown}"` : ''}.${meant ? ` Did you mean /${meant}?` : ''} Send /help for the list.`,
        severity: 'warning',
      };
    }
    const parsed = named ? parseNamedArgs(cmd.args ?? [], named) : parseArgs(cmd.args ?? [], rest);
    if (!parsed.ok) {
      this.audit(user, name, rawArgs, 'invalid', parsed.error);
      return { text: `${parsed.error}\nUsage: ${usage(cmd)}`, severity: 'warning' };
    }
    const need: Role = cmd.roleFor ? cmd.roleFor(parsed.args) : cmd.minRole;
    if (!hasRole(user.role, need)) {
      this.audit(user, name, rawArgs, 'refused', `needs ${need}`);
      return {
        text: roleRefusal(name, need, user.role),
        severity: 'warning',
      };
    }
    const ctx: CommandContext = { user, args: parsed.args, raw: rawArgs, services: this.services };
    const asked = cmd.confirm?.(ctx) ?? null;
    if (typeof asked === 'string' && asked) return this.askConfirmation(cmd, ctx, asked);
    if (asked !== null && typeof asked === 'object')
      return this.askConfirmation(cmd, { ...ctx, args: { ...ctx.args, ...asked.pin } }, asked.question);
    return this.execute(cmd, ctx);
  }

  private askConfirmation(cmd: CommandSpec, ctx: CommandContext, question: string): Reply {
    const id = ++this.seq;
    const nonce = this.runTag + randomBytes(6).toString('hex');
    const expiresAt = this.services.clock.now() + this.confirmTimeoutMs;
    this.confirms.set(id, { id, nonce, userKey: userKey(ctx.user), command: cmd, ctx, question, expiresAt });
    this.audit(ctx.user, cmd.name, ctx.raw, 'confirm', question);
    return {
      title: 'Please confirm',
      text: `${question}\n(valid for ${Math.round(this.confirmTimeoutMs / 1000)} s)`,
      buttons: [
        [
          { label: 'Confirm', data: `c:${id}:${nonce}:y`, style: 'danger' },
          { label: 'Cancel', data: `c:${id}:${nonce}:n`, style: 'secondary' },
        ],
      ],
    };
  }

  private async execute(cmd: CommandSpec, ctx: CommandContext, outcome = 'ok'): Promise<Reply> {
    try {
      const reply = await cmd.run(ctx);
      // A reply that says nothing was done (risk refused it, arguments that don't fit) is audited as such.
      if (reply.audit) this.audit(ctx.user, cmd.name, ctx.raw, reply.audit.outcome, reply.audit.reason);
      else this.audit(ctx.user, cmd.name, ctx.raw, outcome, reply.title ?? reply.text.slice(0, 200));
      return scrubbed(reply);
    } catch (e) {
      const msg = scrubSecrets(errorMessage(e));
      this.log.error({ err: e, command: cmd.name }, 'command failed');
      this.audit(ctx.user, cmd.name, ctx.raw, 'error', msg);
      return { text: `/${cmd.name} failed: ${msg}. Nothing was changed by the failed part; check /status.`, severity: 'critical' };
    }
  }

  /** A button press with its opaque payload. */
  async handleButton(user: ChatUser, data: string): Promise<ButtonResult> {
    const r = await this.answerButton(user, data);
    return {
      ...r,
      ...(r.toast !== undefined ? { toast: scrubSecrets(r.toast) } : {}),
      ...(r.edit ? { edit: scrubbed(r.edit) } : {}),
      ...(r.reply ? { reply: scrubbed(r.reply) } : {}),
    };
  }

  private async answerButton(user: ChatUser, data: string): Promise<ButtonResult> {
    const g = this.gate(user, 'button', data.slice(0, 64));
    if (g !== 'ok') return g ? { toast: g.text } : {};
    const parts = data.split(':');
    const prefix = parts[0] ?? '';
    if (prefix === 'c') return this.pressConfirm(user, parts, data);
    const h = this.buttonHandlers.get(prefix);
    if (!h) {
      this.audit(user, 'button', data.slice(0, 64), 'invalid', 'unknown button');
      return { toast: STALE_BUTTON };
    }
    return h(user, parts);
  }

  private async pressConfirm(user: ChatUser, parts: string[], data: string): Promise<ButtonResult> {
    const [, idS, nonce, yn] = parts;
    const p = this.confirms.get(Number(idS));
    const now = this.services.clock.now();
    const bad = (why: string): ButtonResult => {
      this.audit(user, 'confirm', data.slice(0, 64), 'invalid', why);
      return { toast: STALE_BUTTON };
    };
    if (!p || p.nonce !== nonce || (yn !== 'y' && yn !== 'n')) {
      // A prompt of an earlier run, or one swept after it expired: its message says so instead of keeping
      // live-looking buttons. (A second tap, or forged data, leaves the message as it is.)
      const stale = nonce !== undefined && ((RUN_NONCE.test(nonce) && !nonce.startsWith(this.runTag)) || this.swept.has(nonce));
      return stale
        ? { ...bad('a prompt of an earlier run, or expired'), edit: { text: NO_LONGER_VALID, buttons: [] } }
        : bad('unknown or forged confirmation');
    }
    if (p.userKey !== userKey(user)) {
      this.audit(user, 'confirm', data.slice(0, 64), 'refused', 'not the user who asked');
      return { toast: 'Only the person who asked can confirm this.' };
    }
    this.confirms.delete(p.id);
    if (now > p.expiresAt) {
      this.audit(user, p.command.name, p.ctx.raw, 'expired');
      return { toast: 'This confirmation expired. Send the command again.', edit: { text: `${p.question}\nExpired: nothing was done.` } };
    }
    if (yn === 'n') {
      this.audit(user, p.command.name, p.ctx.raw, 'cancelled');
      return { toast: 'Cancelled', edit: { text: `${p.question}\nCancelled: nothing was done.` } };
    }
    // Roles may have changed since the prompt: check again.
    const need: Role = p.command.roleFor ? p.command.roleFor(p.ctx.args) : p.command.minRole;
    if (!hasRole(user.role, need)) {
      this.audit(user, p.command.name, p.ctx.raw, 'refused', `needs ${need}`);
      return { toast: `Needs the ${need} role.` };
    }
    const reply = await this.execute(p.command, { ...p.ctx, user }, 'confirmed');
    return { toast: 'Done', edit: { ...reply, title: reply.title ?? 'Confirmed', buttons: [] } };
  }

  /** Drop expired confirmations (they also fail on press; this just bounds memory). */
  sweep(): void {
    const now = this.services.clock.now();
    for (const [id, p] of this.confirms) {
      if (now <= p.expiresAt + 60_000) continue;
      this.confirms.delete(id);
      this.swept.add(p.nonce);
      if (this.swept.size > MAX_SWEPT) this.swept.delete(this.swept.values().next().value!);
    }
  }
}
