import {
  actor,
  defineCommand,
  deskOf,
  isKillSwitch,
  isLiveHold,
  modeWords,
  symbolArg,
  usage,
  type CommandSpec,
  type Services,
} from './kit.ts';

/** " Still paused: ETH/USDT (/resume ETH/USDT)." when single symbols are paused; '' otherwise. */
function pausedSymbolsNote(services: Services): string {
  const paused = Object.keys(deskOf(services).risk().state.pausedSymbols);
  return paused.length ? ` Still paused on their own: ${paused.map((s) => `${s} (/resume ${s})`).join(', ')}.` : '';
}

const spec: CommandSpec = defineCommand({
  name: 'resume',
  description: 'Allow new entries again, on all symbols or one (after a halt or breaker: asks to confirm)',
  minRole: 'trader',
  args: [{ name: 'symbol', type: 'symbol', description: 'only this symbol, paused on its own (/pause ETH/USDT)' }],
  // Clearing a drawdown halt or a tripped breaker overrides a safety stop: ask first.
  confirm({ user, services, args }) {
    if (args.symbol !== undefined) return null;
    const rs = deskOf(services).risk().state;
    if (isKillSwitch(rs.breakerReason) && user.role !== 'admin') return null; // run() refuses
    if (isLiveHold(rs)) {
      if (user.role !== 'admin') return null; // run() refuses
      const st = services.engine.status();
      return `Start trading ${modeWords(st.mode, st.environment)} now? The bot is waiting for an admin's go (the live start's prompt asks the same).`;
    }
    if (rs.halted || rs.breakerTripped) {
      return `Resume trading and clear the ${rs.breakerTripped ? `circuit breaker (${rs.breakerReason ?? 'tripped'})` : `daily drawdown halt (${rs.haltReason ?? 'halted'})`}?`;
    }
    return null;
  },
  run({ user, services, args }) {
    const by = actor(user);
    if (args.symbol !== undefined) {
      const named = symbolArg(String(args.symbol), services.engine.symbolList(), usage(spec));
      if ('reply' in named) return named.reply;
      const { symbol } = named;
      if (!services.engine.resumeSymbol(symbol)) {
        const all = deskOf(services).risk().state.paused ? ' All entries are paused: /resume lifts that.' : '';
        return { text: `${symbol} was not paused on its own: nothing to resume.${all}` };
      }
      const still = deskOf(services).risk().blocked;
      return {
        text: `${symbol} resumed by ${by}.${still ? ` Entries are still blocked on every symbol: ${still}` : ' New entries on it allowed.'}`,
      };
    }
    const rs = deskOf(services).risk().state;
    if (!rs.paused && !rs.halted && !rs.breakerTripped)
      return { text: `Already trading: nothing to resume.${pausedSymbolsNote(services)}` };
    if (isLiveHold(rs) && user.role !== 'admin') {
      const why = "live trading starts with an admin's go (the Go live button, or an admin's /resume)";
      return { text: `Not resumed: ${why}.`, severity: 'warning', audit: { outcome: 'refused', reason: why } };
    }
    if (isKillSwitch(rs.breakerReason) && user.role !== 'admin') {
      const why = 'only an admin may re-arm the total drawdown kill switch';
      return { text: `Not resumed: ${why} (${rs.breakerReason}).`, severity: 'warning', audit: { outcome: 'refused', reason: why } };
    }
    services.engine.resume(by, { clearHalt: rs.halted, clearBreaker: rs.breakerTripped });
    const still = deskOf(services).risk().blocked;
    return {
      text:
        (still ? `Resumed by ${by}, but entries are still blocked: ${still}` : `Resumed by ${by}. New entries allowed.`) +
        pausedSymbolsNote(services),
    };
  },
});
export default spec;
