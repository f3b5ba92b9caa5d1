import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

// Secrets live only in env (or files the config names). One pass over every logged argument keeps
// them out of logs: known secret fields are masked, and every string is scrubbed of known secret
// values and of anything shaped like a credential (URLs, error messages, pasted tokens).
const SECRET_ENV = ['EXCHANGE_API_KEY', 'EXCHANGE_API_SECRET', 'EXCHANGE_API_PASSWORD', 'TELEGRAM_BOT_TOKEN', 'DISCORD_BOT_TOKEN'];

/**
 * Field names whose value is a secret wherever they appear in a logged object (lower case): the
 * credentials in a config, and the auth headers ccxt and the chat clients send. /config masks the
 * same fields (config/show.ts).
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'apikey',
  'secret',
  'password',
  'token',
  'bottoken',
  'authorization',
  'x-mbx-apikey',
  'x-bapi-api-key',
]);

const extraSecrets = new Set<string>();
let known: readonly string[] | null = null;

/** Register a secret value (e.g. a token read from a file) so it is scrubbed like the env ones. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 6 || extraSecrets.has(value)) return;
  extraSecrets.add(value);
  known = null;
}

/**
 * The secret values to scrub: the registered ones and the env's. Worked out once and again after each
 * new registration (config loading registers every secret it reads, env or file): a process.env read
 * is a native call, and this ran twice per alert (~6 µs of a replay's fill in a profile).
 */
export function secretValues(): readonly string[] {
  if (known === null) {
    const out = [...extraSecrets];
    for (const k of SECRET_ENV) {
      const v = process.env[k];
      if (v && v.length >= 6 && !extraSecrets.has(v)) out.push(v);
    }
    known = out;
  }
  return known;
}

const REDACTED = '[REDACTED]';

/**
 * Credentials this process doesn't hold but a user may paste (another bot's token, a mainnet key
 * while trading on testnet): a Telegram bot token, a Discord token (three dotted parts), and an
 * exchange key or secret (32+ letters and digits, mixed case). Runs are found first with one
 * linear scan, then tested anchored, so a 100 kB message costs one pass, never a backtracking blow-up.
 */
function scrubShapes(text: string): string {
  return text.replace(/[\w:.-]{32,}/g, (run) => {
    if (/^\d{5,12}:[\w-]{30,}$/.test(run) || /^[\w-]{20,}\.[\w-]{6,}\.[\w-]{20,}$/.test(run)) return REDACTED;
    return run.replace(/[A-Za-z0-9]{32,}/g, (k) => (/[a-z]/.test(k) && /[A-Z]/.test(k) && /\d/.test(k) ? REDACTED : k));
  });
}

/**
 * Replace every known secret value, and anything shaped like a credential, with [REDACTED]. The
 * one scrubber for log lines, chat replies and audit rows.
 */
export function scrubSecrets(text: string, secrets: readonly string[] = secretValues()): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return scrubShapes(out);
}

/**
 * A copy of a log argument with secret fields masked (SECRET_KEYS, at any depth) and every string
 * scrubbed. Hand-rolled instead of pino's `redact` paths: this walk runs anyway for the strings, and
 * pino's wildcard paths cost ~13 µs per line on top of it (profile of a max-speed replay: one log line
 * per fill). `secrets` is read once per log line: process.env is a native lookup per key.
 */
function scrubDeep(v: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof v === 'string') return scrubSecrets(v, secrets);
  if (depth > 4 || v === null || typeof v !== 'object') return v;
  if (v instanceof Error)
    return { type: v.name, message: scrubSecrets(v.message, secrets), stack: v.stack ? scrubSecrets(v.stack, secrets) : undefined };
  if (Array.isArray(v)) return v.map((x) => scrubDeep(x, secrets, depth + 1));
  const o: Record<string, unknown> = {};
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    const x = (v as Record<string, unknown>)[k];
    o[k] = x !== undefined && x !== null && SECRET_KEYS.has(k.toLowerCase()) ? REDACTED : scrubDeep(x, secrets, depth + 1);
  }
  return o;
}

export interface LoggerOptions {
  level?: string;
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: undefined,
      hooks: {
        logMethod(args, method) {
          const secrets = secretValues();
          method.apply(this, args.map((a) => scrubDeep(a, secrets)) as Parameters<typeof method>);
        },
      },
    },
    opts.destination ?? pino.destination(2),
  );
}

export const silentLogger = (): Logger => pino({ level: 'silent' });
