import { actor, defineCommand, deskOf, isKillSwitch } from './kit.ts';

export default defineCommand({
  name: 'resume',
  description: 'Allow new entries again (after a halt or breaker: asks to confirm)',
  minRole: 'trader',
  // Clearing a drawdown halt or a tripped breaker overrides a safety stop: ask first.
  confirm({ user, services }) {
    const rs = deskOf(services).risk().state;
    if (isKillSwitch(rs.breakerReason) && user.role !== 'admin') return null; // run() refuses
    if (rs.halted || rs.breakerTripped) {
      return `Resume trading and clear the ${rs.breakerTripped ? `circuit breaker (${rs.breakerReason ?? 'tripped'})` : `daily drawdown halt (${rs.haltReason ?? 'halted'})`}?`;
    }
    return null;
  },
  run({ user, services }) {
    const by = actor(user);
    const rs = deskOf(services).risk().state;
    if (!rs.paused && !rs.halted && !rs.breakerTripped) return { text: 'Already trading: nothing to resume.' };
    if (isKillSwitch(rs.breakerReason) && user.role !== 'admin') {
      const why = 'only an admin may re-arm the total drawdown kill switch';
      return { text: `Not resumed: ${why} (${rs.breakerReason}).`, severity: 'warning', audit: { outcome: 'refused', reason: why } };
    }
    services.engine.resume(by, { clearHalt: rs.halted, clearBreaker: rs.breakerTripped });
    const still = deskOf(services).risk().blocked;
    return { text: still ? `Resumed by ${by}, but entries are still blocked: ${still}` : `Resumed by ${by}. New entries allowed.` };
  },
});
