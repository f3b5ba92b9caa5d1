import { defineCommand } from '../src/chat/command.ts';

export default defineCommand({
  name: 'pause',
  description: 'Stop opening new positions (exits and stops keep working)',
  minRole: 'trader',
  run({ user, services }) {
    const by = user.name ?? user.id;
    if (services.engine.risk.state().paused) return { text: 'Already paused. /resume to trade again.' };
    services.engine.pause(by);
    return { text: `Paused by ${by}. No new entries; open positions keep their exits and stops. /resume to trade again.` };
  },
});
