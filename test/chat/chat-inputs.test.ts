// Chat input limits (issue 7 #10), property-based with fast-check: the argument parsers take every
// finite in-range value and refuse everything else, the same way whatever the notation; replies and
// audit rows stay short and never carry a secret, whatever a user (or a stranger) sends.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { MAX_ARG_CHARS, MAX_ARG_NUMBER, normalizeSymbol, parseArgs, tokenize } from '../../src/chat/args.ts';
import { AUDIT_LIMITS, MAX_COMMAND_CHARS } from '../../src/chat/dispatcher.ts';
import type { ArgSpec, Reply } from '../../src/chat/types.ts';
import { registerSecret, scrubSecrets } from '../../src/core/logger.ts';
import { chatUser, startBot, type Harness } from '../helpers/harness.ts';

const BUY = COMMANDS.find((c) => c.name === 'buy')!.args!;
const PRICE: ArgSpec = BUY.find((a) => a.name === 'price')!;
const AMOUNT: ArgSpec = BUY.find((a) => a.name === 'amount')!;
const COUNT: ArgSpec = { name: 'n', type: 'int', min: 1, max: 200, description: 'n' };

/** The ways a trader may write one number. */
const notations = (x: number): string[] => {
  const out = [String(x), x.toExponential()];
  if (Math.abs(x) < 1e15 && Math.abs(x) >= 1e-6) out.push(x.toFixed(8));
  return out;
};
const one = (spec: ArgSpec, token: string) => parseArgs([spec], [token]);
/** Any double, the edge cases (±0, ±Infinity, NaN, subnormals, MAX_VALUE) included. */
const anyDouble = fc.double();
const ERROR_MAX = 200;

describe('argument parsers (fast-check)', () => {
  it('a price is accepted iff it is finite, above 0 and at most the bound, in any notation', () => {
    fc.assert(
      fc.property(anyDouble, (x) => {
        for (const t of notations(x)) {
          const r = one(PRICE, t);
          const v = Number(t);
          const inRange = Number.isFinite(v) && v > 0 && v <= MAX_ARG_NUMBER;
          expect(r.ok, t).toBe(inRange);
          if (r.ok) expect(r.args.price).toBe(v);
          else expect(r.error.length).toBeLessThanOrEqual(ERROR_MAX);
        }
      }),
      { numRuns: 2000 },
    );
    expect(one(PRICE, '-5')).toEqual({ ok: false, error: 'price: must be greater than 0' });
    expect(one(PRICE, '0')).toEqual({ ok: false, error: 'price: must be greater than 0' });
  });

  it('an amount is a finite quantity above 0, or a percent of equity up to 100%', () => {
    fc.assert(
      fc.property(anyDouble, fc.boolean(), (x, pct) => {
        for (const n of notations(x)) {
          const t = `${n}${pct ? '%' : ''}`;
          const r = one(AMOUNT, t);
          const v = Number(n);
          const inRange = Number.isFinite(v) && v > 0 && (pct ? v <= 100 : v <= MAX_ARG_NUMBER);
          expect(r.ok, t).toBe(inRange);
          if (r.ok) expect(r.args.amount).toEqual({ value: v, percent: pct });
        }
      }),
      { numRuns: 2000 },
    );
    expect(one(AMOUNT, '1e-3')).toEqual({ ok: true, args: { amount: { value: 0.001, percent: false } } });
    expect(one(AMOUNT, `1${'0'.repeat(400)}`)).toMatchObject({ ok: false }); // Infinity, never "SELL Infinity BTC"
    expect(one(AMOUNT, `1${'0'.repeat(307)}`)).toMatchObject({ ok: false });
  });

  it('a whole number is accepted exactly in its range', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -1000, max: 1000 }), anyDouble), (x) => {
        const r = one(COUNT, String(x));
        expect(r.ok, String(x)).toBe(Number.isInteger(x) && x >= 1 && x <= 200);
      }),
    );
  });

  it('any text: never throws, a short error, no over-long token echoed', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), (s) => {
        const tokens = tokenize(s);
        for (const specs of [BUY, [COUNT], COMMANDS.find((c) => c.name === 'risk')!.args!]) {
          const r = parseArgs(specs, tokens);
          if (r.ok) continue;
          expect(r.error.length).toBeLessThanOrEqual(ERROR_MAX);
          for (const t of tokens) if (t.length > MAX_ARG_CHARS) expect(r.error).not.toContain(t);
        }
        const sym = normalizeSymbol(s);
        if (sym !== null) expect(sym).toMatch(/^[A-Z0-9]{2,20}(\/[A-Z0-9]{2,20}(:[A-Z0-9]+)?)?$/);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('dispatcher: bounded, scrubbed replies and audit rows (fast-check)', () => {
  let h: Harness;
  const SECRET = 'zq-SECRET-paste-7f3a9c1e5b';
  /** A Telegram bot token this process doesn't hold (another bot's), a Binance-like key. */
  const FOREIGN = ['987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw', 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A'];
  const roles = [null, 'viewer', 'trader', 'admin'] as const;

  beforeAll(async () => {
    registerSecret(SECRET);
    h = await startBot({
      candles: 300,
      config: {
        strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
        reports: { charts: false },
        risk: { minTradeIntervalSec: 0 },
      },
    });
  });
  afterAll(async () => {
    await h.stop();
  });

  const secretish = fc.constantFrom(SECRET, ...FOREIGN, `/${FOREIGN[1]}`, `${SECRET}${SECRET}`);
  const token = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.double().map(String),
    fc.constantFrom('BTC/USDT', 'btc', '5%', '1e-3', '-5', 'off', 'set', 'riskPerTrade', 'mute', 'order_filled', '2h'),
    secretish,
    fc.string({ minLength: 65, maxLength: 6000 }),
  );
  const text = fc.oneof(
    fc
      .tuple(fc.constantFrom(...COMMANDS.map((c) => c.name), 'nope'), fc.array(token, { maxLength: 4 }))
      .map(([c, a]) => `/${c} ${a.join(' ')}`),
    secretish,
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ minLength: MAX_COMMAND_CHARS, maxLength: 100_000 }).map((s) => `/buy ${s}`),
  );

  const leaks = (s: string): boolean => s.includes(SECRET) || FOREIGN.some((f) => s.includes(f) || s.includes(f.slice(0, 24)));

  it('every reply is bounded and scrubbed; every audit row is bounded and scrubbed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...roles), text, async (role, msg) => {
        const user = chatUser(role, role ? `u-${role}` : `u-stranger-${msg.length % 7}`);
        const before = h.bot.journal.recentCommands(1)[0]?.id ?? 0;
        const r: Reply | null = await h.bot.dispatcher.handleText(user, msg);
        const rows = h.bot.journal.recentCommands(5).filter((c) => c.id > before);
        for (const row of rows) {
          expect(row.command.length).toBeLessThanOrEqual(AUDIT_LIMITS.command);
          expect((row.args ?? '').length).toBeLessThanOrEqual(AUDIT_LIMITS.args);
          expect((row.detail ?? '').length).toBeLessThanOrEqual(AUDIT_LIMITS.detail);
          expect(leaks(`${row.command} ${row.args ?? ''} ${row.detail ?? ''}`), JSON.stringify(row)).toBe(false);
        }
        if (!r) return;
        const shown = `${r.title ?? ''}\n${r.text}`;
        expect(leaks(shown), shown).toBe(false);
        // What was refused or invalid gets a short answer, never the input echoed back at length.
        const refused = rows.some((row) => row.outcome === 'invalid' || row.outcome === 'refused');
        if (refused) expect(shown.length, shown).toBeLessThanOrEqual(600);
        else expect(shown.length).toBeLessThanOrEqual(20_000);
      }),
      { numRuns: 300 },
    );
  });

  it('/buy: every finite in-range amount gets a confirmation or a risk verdict, in any notation; the rest gets the usage', async () => {
    const trader = chatUser('trader');
    const kind = (r: Reply): string =>
      r.title === 'Please confirm' ? 'confirm' : r.title === 'Not placed' ? 'risk' : /Usage:/.test(r.text) ? 'usage' : r.text;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.double({ min: 1e-9, max: 10 }), fc.double()), async (x) => {
        const verdicts = new Set<string>();
        for (const n of notations(x)) {
          const r = (await h.bot.dispatcher.handleText(trader, `/buy BTC/USDT ${n}`))!;
          const k = kind(r);
          const v = Number(n);
          if (Number.isFinite(v) && v > 0 && v <= MAX_ARG_NUMBER) {
            expect(['confirm', 'risk'], `${n}: ${r.text}`).toContain(k);
            expect(r.text).not.toMatch(/Infinity|NaN|\de[+-]?\d/); // the order as the bot reads it: plain numbers
          } else expect(k, n).toBe('usage');
          if (Number(n) === x) verdicts.add(k);
        }
        expect(verdicts.size, String(x)).toBeLessThanOrEqual(1); // the same value, the same verdict
      }),
      { numRuns: 100 },
    );
  });

  it('the issue cases: Infinity amounts, a pasted token, an over-long argument, /buy BTC, /audit outcomes', async () => {
    const trader = chatUser('trader');
    const admin = chatUser('admin');
    const send = async (t: string, u = trader) => (await h.bot.dispatcher.handleText(u, t))!;
    expect((await send(`/sell BTC/USDT 1${'0'.repeat(400)}`)).text).toMatch(/^amount: too long \(401 characters; at most 64\)\nUsage:/);
    expect((await send(`/sell BTC/USDT 1${'0'.repeat(60)}`)).text).toMatch(/^amount: must be at most 1,000,000,000,000,000\nUsage:/);
    expect((await send('/buy BTC/USDT 1e309')).text).toMatch(/^amount: must be at most 1,000,000,000,000,000\nUsage:/);
    const pasted = await send(`/buy BTC/USDT ${FOREIGN[0]}`);
    expect(pasted.text).toContain('[REDACTED]');
    expect(pasted.text).not.toContain(FOREIGN[0]);
    const unknown = await send(`/${FOREIGN[1]}`);
    expect(unknown.text).toBe('Unknown command "/[REDACTED]". Send /help for the list.');
    expect((await send(`/${'y'.repeat(40)}`)).text).toBe('Unknown command. Send /help for the list.');
    const long = await send(`/cancel ${'x'.repeat(300)}`);
    expect(long.text).toBe('order: too long (300 characters; at most 64)\nUsage: /cancel <order>');
    const huge = await send(`/cancel ${'x'.repeat(5000)}`);
    expect(huge.text).toBe('That is too long for a command (5008 characters; at most 512). Send /help for the list.');
    expect((await send('/buy BTC 0.01')).text).toMatch(/^BUY BTC\/USDT 0\.01 BTC at market/);
    expect((await send('/buy XRP 0.01')).text).toMatch(/"XRP" is not a pair or an asset this bot trades/);
    expect((await send('/buy BTC/USDT 0.01 -5')).text).toMatch(/^price: must be greater than 0\n/);

    // A /buy the risk engine refuses is audited as refused, with the reason.
    await send('/pause');
    const refused = await send('/buy BTC/USDT 0.01');
    expect(refused.title).toBe('Not placed');
    const row = h.bot.journal.recentCommands(1)[0]!;
    expect(row).toMatchObject({ command: 'buy', outcome: 'refused' });
    expect(row.detail).toMatch(/^paused: /);
    expect((await send('/audit 3', admin)).text).toMatch(/\/buy BTC\/USDT 0\.01\s+refused\s+paused: /);
    await send('/resume');
    expect(scrubSecrets(`x ${FOREIGN[1]} y`)).toBe('x [REDACTED] y');
  });
});
