import { defineCommand, type CommandContext, actor, type Reply, describeChanges, type ReloadCheck, counted } from './kit.ts';

/** What was confirmed, so a file edited between the question and the press is not applied unseen. */
const asked = new WeakMap<object, string>();
const fingerprint = (c: Extract<ReloadCheck, { ok: true }>): string => JSON.stringify(c.plan.apply);

/** The reply when the file can't be applied (nothing changes); null when it can. */
function refusal(c: ReloadCheck, file: string | undefined): Reply | null {
  const refuse = (text: string, reason: string): Reply => ({ text, severity: 'warning', audit: { outcome: 'refused', reason } });
  if (!c.ok && !file) return refuse(`${c.problems.join('; ')}.`, 'no config file');
  if (!c.ok)
    return refuse(
      `${file ?? 'The config'} has ${counted(c.problems.length, 'problem')}; nothing was changed:\n${c.problems.map((p) => `- ${p}`).join('\n')}`,
      `invalid config: ${c.problems.join('; ')}`,
    );
  const { plan } = c;
  if (plan.needsRestart.length)
    return refuse(
      `These settings need a restart: ${plan.needsRestart.join(', ')}. Nothing was changed (not even the other ${counted(plan.changes.length - plan.needsRestart.length, 'change')}). Restart the bot to use them, or undo them in ${file} and /reload again.`,
      `needs a restart: ${plan.needsRestart.join(', ')}`,
    );
  if (plan.errors.length) return refuse(`${plan.errors.join('\n')}\nNothing was changed.`, `refused: ${plan.errors.join('; ')}`);
  if (!plan.apply.length) return { text: `${file} changes nothing the running bot uses: nothing to do.` };
  return null;
}

function check(ctx: CommandContext): ReloadCheck | null {
  return ctx.services.configControls?.check() ?? null;
}

export default defineCommand({
  name: 'reload',
  description: 'Re-read the config file and apply what can change without a restart (confirm)',
  minRole: 'admin',
  confirm(ctx) {
    const c = check(ctx);
    if (!c || refusal(c, ctx.services.configControls?.file) || !c.ok) return null;
    asked.set(ctx.args, fingerprint(c));
    return `Apply ${counted(c.plan.apply.length, 'change')} from ${ctx.services.configControls!.file}? ${describeChanges(c.plan.apply)}`;
  },
  run(ctx) {
    const controls = ctx.services.configControls;
    const c = check(ctx);
    if (!controls || !c) return { text: 'Config reload is not available in this process.' };
    const no = refusal(c, controls.file);
    if (no || !c.ok) return no!;
    if (asked.get(ctx.args) !== fingerprint(c))
      return {
        text: `${controls.file} changed since you confirmed; nothing was changed. Send /reload again.`,
        severity: 'warning',
        audit: { outcome: 'refused', reason: 'file changed after the confirmation' },
      };
    const changed = controls.apply(c, actor(ctx.user));
    return {
      text: `Reloaded ${controls.file}: ${describeChanges(c.plan.apply)}.\nRisk limits apply to the next order, strategy parameters from the next candle (the strategy warms up again), alerts, approvals, reports and chat users at once. ${counted(changed.length, 'setting')} changed.`,
    };
  },
});
