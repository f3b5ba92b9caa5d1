import {
  defineCommand,
  usage,
  type CommandContext,
  type CommandSpec,
  kv,
  money,
  pct,
  percent,
  utc,
  badArgs,
  quoteOf,
  type Reply,
  DAY_MS,
  engineTimeNote,
  deskOf,
  LIMIT_KEYS,
  limitHelp,
  limitKey,
  showLimit,
  type RiskLimits,
  pausedSymbolsLine,
} from './kit.ts';

type Change =
  { ok: true; key: keyof RiskLimits; old: unknown; new: unknown; raw: string } | { ok: false; reply: Reply } | { ok: 'same'; reply: Reply };

/** Validate `/risk set <key> <value>` on a scratch copy of the limits: nothing changes here. */
function planChange({ args, services }: CommandContext, spec: CommandSpec): Change {
  const keyIn = args.key as string | undefined;
  const raw = args.value as string | undefined;
  if (keyIn === undefined || raw === undefined)
    return {
      ok: false,
      reply: badArgs('set needs a limit name and a value, e.g. /risk set riskPerTrade 2.5%; /risk help lists them', usage(spec)),
    };
  const key = limitKey(keyIn);
  const r = deskOf(services).checkRiskLimit(key ?? keyIn, raw);
  if (!r.ok)
    return {
      ok: false,
      reply: { text: `${r.error}. Nothing was changed.`, severity: 'warning', audit: { outcome: 'invalid', reason: r.error } },
    };
  if (r.new === r.old) return { ok: 'same', reply: { text: `${key!} is already ${showLimit(key!, r.old)}: nothing to change.` } };
  return { ok: true, key: key!, old: r.old, new: r.new, raw };
}

function view({ services }: CommandContext): Reply {
  const engine = services.engine;
  const risk = deskOf(services).risk();
  const lim = risk.limits;
  const rs = risk.state;
  const st = engine.status();
  const ccy = quoteOf(services.config.market.symbols);
  const saved = risk.saved;
  const limits = LIMIT_KEYS.map((k): [string, string] => [k, `${showLimit(k, lim[k])}${Object.hasOwn(saved, k) ? ' *' : ''}`]);
  const change = st.dayStartEquity > 0 ? st.equity / st.dayStartEquity - 1 : 0;
  const entries24h = rs.recentEntries.filter((t) => t > st.now - DAY_MS).length;
  const state: Array<[string, string]> = [
    ['Entries', st.blocked ? `BLOCKED — ${st.blocked}` : 'allowed'],
    [
      'Paused',
      rs.paused
        ? `yes${rs.pausedBy ? ` by ${rs.pausedBy}` : ''}${rs.pausedAt !== undefined ? ` since ${utc(rs.pausedAt)}${engineTimeNote(engine.clockKind)}` : ''}`
        : 'no',
    ],
    ['Paused symbols', pausedSymbolsLine(rs, engine.clockKind) ?? 'none'],
    [
      'Daily halt',
      st.halted
        ? `yes — ${rs.haltReason ?? 'daily drawdown'}${rs.haltedUntil !== undefined ? ` until ${utc(rs.haltedUntil)}${engineTimeNote(engine.clockKind)}` : ''}`
        : 'no',
    ],
    ['Breaker', rs.breakerTripped ? `TRIPPED — ${rs.breakerReason ?? 'no reason given'}` : 'ok'],
    ['Losses in a row', `${rs.consecutiveLosses}${lim.maxConsecutiveLosses > 0 ? ` / ${lim.maxConsecutiveLosses}` : ' (breaker off)'}`],
    ['Errors in a row', `${rs.consecutiveErrors}${lim.maxConsecutiveErrors > 0 ? ` / ${lim.maxConsecutiveErrors}` : ' (breaker off)'}`],
    [
      'Today',
      `${pct(change)} (${money(st.equity - st.dayStartEquity, ccy)}); ${lim.maxDailyDrawdown > 0 ? `halt at -${percent(lim.maxDailyDrawdown)}` : 'daily halt off'}`,
    ],
    ['Entries in 24 h', `${entries24h} / ${lim.maxTradesPer24h}`],
  ];
  if (lim.cooldownAfterLossSec > 0) {
    const cooling = Object.entries(rs.lastLossAt)
      .map(([sym, at]) => [sym, at + lim.cooldownAfterLossSec * 1000] as const)
      .filter(([, until]) => until > st.now)
      .map(([sym, until]) => `${sym} until ${utc(until)}${engineTimeNote(engine.clockKind)}`);
    state.push(['After a loss', cooling.length ? `no entries on ${cooling.join('; ')}` : 'no symbol cooling down']);
  }
  for (const sym of engine.symbolList()) {
    const v = risk.volatility(sym);
    state.push([
      `Volatility ${sym}`,
      lim.maxVolatility === null
        ? 'limit off (not tracked)'
        : `${v === null ? `warming up (${lim.volatilityWindow} bars)` : `${percent(v, 3)} per bar`}; limit ${percent(lim.maxVolatility, 3)}`,
    ]);
  }
  const note = Object.keys(saved).length ? '\n* changed from chat (kept across restarts)' : '';
  return {
    title: 'Risk',
    text: `Limits:\n${kv(limits)}${note}\n\nState:\n${kv(state)}`,
    mono: true,
    severity: st.blocked ? 'warning' : 'info',
  };
}

const help = (): Reply => ({
  title: 'Risk limits',
  text: `${LIMIT_KEYS.map(limitHelp).join('\n')}\n\nChange one with /risk set <limit> <value> (admin), e.g. /risk set riskPerTrade 2.5%. The config file's risk section takes the same names and values.`,
});

/** The value a confirmation question showed as the limit's current one (pinned by confirm()). */
const ASKED_FROM = 'askedFrom';

const spec: CommandSpec = defineCommand({
  name: 'risk',
  description: 'Risk limits and state; /risk help explains each limit; /risk set <key> <value> changes one (admin)',
  minRole: 'viewer',
  args: [
    { name: 'action', type: 'enum', choices: ['show', 'set', 'help'], description: 'show (default), set or help' },
    { name: 'key', type: 'string', description: 'limit name, e.g. riskPerTrade' },
    { name: 'value', type: 'string', description: 'new value, e.g. 2.5%, 3 or off' },
  ],
  roleFor: (args) => (args.action === 'set' ? 'admin' : 'viewer'),
  confirm(ctx) {
    if (ctx.args.action !== 'set') return null;
    const c = planChange(ctx, spec);
    if (c.ok !== true) return null;
    return {
      question: `Change risk limit ${c.key}: ${showLimit(c.key, c.old)} → ${showLimit(c.key, c.new)}? It is kept across restarts.`,
      // Confirm changes the value the question showed: a change made since (another prompt confirmed first) is not overwritten unseen.
      pin: { [ASKED_FROM]: showLimit(c.key, c.old) },
    };
  },
  run(ctx) {
    if (ctx.args.action !== 'set') {
      if (ctx.args.key !== undefined) return badArgs('only /risk set takes a limit and a value', usage(spec));
      return ctx.args.action === 'help' ? help() : view(ctx);
    }
    const c = planChange(ctx, spec);
    if (c.ok !== true) return c.reply;
    const asked = ctx.args[ASKED_FROM];
    if (asked !== undefined && asked !== showLimit(c.key, c.old)) {
      const why = `${c.key} changed since you asked (${asked} then, ${showLimit(c.key, c.old)} now)`;
      return {
        text: `${why}: nothing was changed. Send /risk set again if you still want ${showLimit(c.key, c.new)}.`,
        severity: 'warning',
        audit: { outcome: 'refused', reason: why },
      };
    }
    const r = deskOf(ctx.services).setRiskLimit(c.key, c.raw);
    if (!r.ok) return { text: `${r.error}. Nothing was changed.`, severity: 'warning', audit: { outcome: 'invalid', reason: r.error } };
    return {
      title: 'Risk limit changed',
      text: `${c.key}: ${showLimit(c.key, r.old)} → ${showLimit(c.key, r.new)}. Applies to the next order and survives restarts.`,
    };
  },
});

export default spec;
