// Transport-neutral chat vocabulary. Commands (in commands/) produce Replies; adapters (console,
// Telegram, Discord) render them. Nothing here knows about grammY or discord.js.
import type { Role } from '../config/schema.ts';
import type { MessageRef, TransportName } from '../core/types.ts';

export type { MessageRef, Role, TransportName };

export const ROLE_RANK: Readonly<Record<Role, number>> = { viewer: 1, trader: 2, admin: 3 };
export const hasRole = (have: Role | null | undefined, need: Role): boolean => !!have && ROLE_RANK[have] >= ROLE_RANK[need];

/** Why a command is not the user's: the dispatcher's refusal and /help say it alike. */
export const roleRefusal = (command: string, need: Role, have: Role | null): string =>
  `/${command} needs the ${need} role; ${have === null ? 'you have none' : `you are ${have === 'admin' ? 'an' : 'a'} ${have}`}.`;

export interface ChatUser {
  transport: TransportName;
  /** Transport user id (Telegram user id, Discord user id, 'console'). */
  id: string;
  name?: string;
  /** null: not on the allow-list. */
  role: Role | null;
}

export interface Button {
  label: string;
  /** Opaque payload, ≤ 64 bytes (Telegram's callback_data limit). */
  data: string;
  style?: 'primary' | 'danger' | 'secondary' | 'success';
}

export interface ReplyImage {
  png: Buffer;
  filename: string;
  caption?: string;
}

/** A file to send (e.g. a backup): Telegram sends it as a document, Discord as an attachment. */
export interface ReplyDocument {
  data: Buffer;
  filename: string;
}

export interface Reply {
  /** Short bold heading. */
  title?: string;
  /** Plain text body; adapters escape it for their markup. */
  text: string;
  /** Render the body monospace (tables). */
  mono?: boolean;
  buttons?: Button[][];
  image?: ReplyImage;
  document?: ReplyDocument;
  /** Only the asking user should see it (Discord ephemeral replies). */
  ephemeral?: boolean;
  severity?: 'info' | 'warning' | 'critical';
  /** The command changed nothing: the audit row says why (instead of `ok`). Not shown to the user. */
  audit?: { outcome: 'refused' | 'invalid'; reason: string };
}

export type ArgType = 'string' | 'number' | 'int' | 'enum' | 'symbol' | 'amount';

/** One positional argument. The same spec drives text parsing, /help and Discord slash options. */
export interface ArgSpec {
  name: string;
  type: ArgType;
  description: string;
  required?: boolean;
  choices?: readonly string[];
  min?: number;
  /** min itself is refused ("must be greater than 0"). */
  minExclusive?: boolean;
  max?: number;
  /** Swallow the rest of the line (free text). */
  rest?: boolean;
}

/** Parsed arguments: numbers for number/int, { value, percent } for amount, strings otherwise. */
export type ArgValue = string | number | { value: number; percent: boolean };
export type ParsedArgs = Record<string, ArgValue | undefined>;
