// The one audit writer: every row of commands_audit (chat commands, approval and go-live buttons,
// escalation acknowledgements and actions) goes through writeAudit, so every row has one shape and
// is scrubbed and bounded the same way, whatever a stranger sends.
import { scrubSecrets } from '../core/logger.ts';
import type { CommandAudit } from '../journal/journal.ts';

/** What an audit row keeps of a command's name, arguments and outcome detail. */
export const AUDIT_LIMITS = { command: 32, args: 200, detail: 500, user: 64 } as const;

/** A bounded excerpt: the start, and how long the whole was. */
export function excerpt(s: string, max: number): string {
  if (s.length <= max) return s;
  const tail = `… (${s.length} chars)`;
  return s.slice(0, Math.max(0, max - tail.length)) + tail;
}

/** Who acted: a chat user, or the bot itself (transport 'system'). */
export interface AuditActor {
  transport: string;
  id: string;
  name?: string | undefined;
  role?: string | null | undefined;
}

export interface AuditEntry {
  ts: number;
  user: AuditActor;
  command: string;
  args: string;
  outcome: string;
  detail?: string | undefined;
}

const clip = (s: string, max: number): string => excerpt(scrubSecrets(s), max);

/** Write one audit row. */
export function writeAudit(journal: { recordCommand(c: CommandAudit): number }, e: AuditEntry): void {
  const u = e.user;
  journal.recordCommand({
    ts: e.ts,
    transport: u.transport,
    userId: clip(u.id, AUDIT_LIMITS.user),
    ...(u.name ? { userName: clip(u.name, AUDIT_LIMITS.user) } : {}),
    ...(u.role ? { role: u.role } : {}),
    command: clip(e.command, AUDIT_LIMITS.command),
    args: clip(e.args, AUDIT_LIMITS.args),
    outcome: e.outcome,
    ...(e.detail ? { detail: clip(e.detail, AUDIT_LIMITS.detail) } : {}),
  });
}
