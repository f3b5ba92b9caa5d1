import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Alert, AlertSeverity } from '../core/alerts.ts';
import type { Logger } from '../core/logger.ts';
import type { AlertChannel } from '../alerts/service.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { ChatTransport, Topic } from './transport.ts';
import type { Button, ChatUser, MessageRef, Reply, ReplyImage, Role } from './types.ts';

export interface ConsoleOptions {
  input: Readable;
  output: Writable;
  role: Role;
  minSeverity?: AlertSeverity;
  /** Where images (charts) are written; the reply gives the file's path. */
  chartsDir?: string;
}

const ICON: Record<AlertSeverity, string> = { info: 'i', warning: '!', critical: '!!' };

/**
 * Plain-text rendering of a reply; buttons become numbered choices, from `first`; `image` says where
 * the picture went.
 */
export function renderText(reply: Reply, buttons: Button[], first = 1, image?: string): string {
  const parts: string[] = [];
  if (reply.title) parts.push(`== ${reply.title} ==`);
  parts.push(reply.text);
  if (reply.document) parts.push(`[file: ${reply.document.filename}, ${reply.document.data.length} bytes — not shown on the console]`);
  if (reply.image) parts.push(image ?? `[image: ${reply.image.filename}${reply.image.caption ? ` — ${reply.image.caption}` : ''}]`);
  if (buttons.length) parts.push(buttons.map((b, i) => `[${first + i}] ${b.label}`).join('   ') + '   (type the number)');
  return parts.join('\n');
}

/** A prompt on screen whose choices can still be typed. */
interface OpenPrompt {
  /** The posted message it came from (its edits retire or renumber it), if any. */
  messageId?: string;
  first: number;
  buttons: Button[];
}

/** Older prompts beyond this are forgotten (their buttons would be stale by then anyway). */
const MAX_OPEN_PROMPTS = 20;

/**
 * The local console transport: commands from stdin, replies and alerts on stdout. With no stdin
 * (CI, Docker) it simply stays quiet and the bot runs headless.
 */
export class ConsoleTransport implements AlertChannel, ChatTransport {
  readonly name = 'console';
  private posted = 0;
  readonly minSeverity: AlertSeverity;
  private rl: Interface | undefined;
  /** Every prompt still answerable; numbers are unique across them (a new prompt never hides an older one). */
  private prompts: OpenPrompt[] = [];
  /** Choice numbers are never reused within a run: a late or repeated number can't answer a newer prompt. */
  private nextChoice = 1;
  private readonly user: ChatUser;
  private closed = false;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly opts: ConsoleOptions,
    private readonly log: Logger,
  ) {
    this.user = { transport: 'console', id: 'console', name: 'console', role: opts.role };
    this.minSeverity = opts.minSeverity ?? 'info';
  }

  async start(): Promise<void> {
    this.rl = createInterface({ input: this.opts.input, terminal: false });
    this.rl.on('line', (line) => {
      void this.onLine(line).catch((e: unknown) => this.log.error({ err: e }, 'console command failed'));
    });
    // End of input (e.g. stdin is /dev/null): keep running headless.
    this.rl.on('close', () => {
      this.closed = true;
    });
  }

  get headless(): boolean {
    return this.closed;
  }

  /** Handle one line; exposed for tests. Resolves when the reply has been printed. */
  async onLine(line: string): Promise<void> {
    const t = line.trim();
    if (!t) return;
    if (/^\d+$/.test(t)) {
      const n = Number(t);
      const p = this.prompts.find((x) => n >= x.first && n < x.first + x.buttons.length);
      if (!p) {
        if (n >= 1 && n < this.nextChoice) {
          const open = this.prompts.length ? `Open choices: ${this.openChoices()}.` : 'Nothing is waiting for an answer.';
          this.print(`Choice ${t} is no longer open: nothing was done. ${open}`);
          return;
        }
        this.print(
          this.prompts.length
            ? `No choice ${t}. Open choices: ${this.openChoices()}.`
            : `No choice ${t}: nothing is waiting for an answer.`,
        );
        return;
      }
      const b = p.buttons[n - p.first]!;
      this.prompts = this.prompts.filter((x) => x !== p);
      const r = await this.dispatcher.handleButton(this.user, b.data);
      if (r.toast) this.print(`> ${r.toast}`);
      if (r.edit) this.show(r.edit);
      if (r.reply) this.show(r.reply);
      return;
    }
    const reply = await this.dispatcher.handleText(this.user, t.startsWith('/') ? t : `/${t}`);
    if (reply) this.show(reply);
  }

  show(reply: Reply, messageId?: string): void {
    const buttons = (reply.buttons ?? []).flat();
    if (messageId !== undefined) this.prompts = this.prompts.filter((x) => x.messageId !== messageId);
    let first = 1;
    if (buttons.length) {
      first = this.nextChoice;
      this.nextChoice += buttons.length;
      this.prompts.push({ ...(messageId !== undefined ? { messageId } : {}), first, buttons });
      if (this.prompts.length > MAX_OPEN_PROMPTS) this.prompts.shift();
    }
    this.print(renderText(reply, buttons, first, reply.image && this.saveImage(reply.image)));
  }

  private openChoices(): string {
    return this.prompts.map((p) => `${p.first}–${p.first + p.buttons.length - 1} (${p.buttons.map((b) => b.label).join('/')})`).join(', ');
  }

  /** A terminal shows no pictures: write the PNG to the charts folder and say where it is. */
  private saveImage(img: ReplyImage): string | undefined {
    const dir = this.opts.chartsDir;
    if (!dir) return undefined;
    const caption = img.caption ? ` — ${img.caption}` : '';
    try {
      mkdirSync(dir, { recursive: true });
      const path = resolve(join(dir, img.filename.replace(/[^\w.-]/g, '_') || 'image.png'));
      writeFileSync(path, img.png);
      return `Chart saved: ${path}${caption}`;
    } catch (e) {
      this.log.error({ err: e, dir }, 'saving a chart failed');
      return `[image ${img.filename} not saved: ${e instanceof Error ? e.message : String(e)}]${caption}`;
    }
  }

  private print(text: string): void {
    if (!this.opts.output.writableEnded) this.opts.output.write(text + '\n');
  }

  deliver(alert: Alert): void {
    this.print(`[${ICON[alert.severity]}] ${alert.title}: ${alert.message}`);
  }

  /** Prompts from elsewhere (trade proposals, reports) shown with their buttons. */
  async broadcast(reply: Reply, _topic: Topic): Promise<MessageRef[]> {
    const messageId = String(++this.posted);
    this.show(reply, messageId);
    return [{ transport: 'console', chatId: 'console', messageId }];
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    this.print(`(update to message ${ref.messageId})`);
    this.show(reply, ref.messageId);
  }

  async stop(): Promise<void> {
    this.rl?.close();
  }
}
