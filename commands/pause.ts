import { actor, defineCommand, deskOf, counted } from './kit.ts';

export default defineCommand({
  name: 'pause',
  description: 'Stop opening new positions (exits and stops keep working)',
  minRole: 'trader',
  run({ user, services }) {
    const by = actor(user);
    if (deskOf(services).risk().state.paused) return { text: 'Already paused. /resume to trade again.' };
    services.engine.pause(by);
    // Entry proposals could not be placed while paused: withdraw them (exit proposals stay).
    const withdrawn = services.approvals?.withdraw({ kind: 'entry' }, `made moot by /pause (${by})`, by) ?? 0;
    const w = withdrawn ? ` ${counted(withdrawn, 'pending entry proposal')} withdrawn.` : '';
    return { text: `Paused by ${by}. No new entries; open positions keep their exits and stops.${w} /resume to trade again.` };
  },
});
