import { defineCommand, usage, type CommandSpec, money, actor, approvalsUnseen, badArgs, quoteOf } from './kit.ts';

const MODES = ['always', 'above', 'off'] as const;
type Mode = (typeof MODES)[number];

const words = (m: { mode: Mode; aboveNotional: number }, ccy: string): string =>
  m.mode === 'off'
    ? 'off — the bot places its trades without asking'
    : m.mode === 'always'
      ? 'always — every trade the bot wants to place waits for Approve/Reject'
      : `above ${money(m.aboveNotional, ccy)} — trades of at least that notional wait for Approve/Reject`;

const spec: CommandSpec = defineCommand({
  name: 'approvals',
  description: 'Show or set when trades need your approval (setting: trader)',
  minRole: 'viewer',
  args: [
    { name: 'mode', type: 'enum', choices: MODES, description: 'always, above <notional> or off' },
    { name: 'notional', type: 'number', min: 0, description: 'with above: the notional from which trades need approval' },
  ],
  roleFor: (args) => (args.mode !== undefined ? 'trader' : 'viewer'),
  run({ args, user, services }) {
    const ap = services.approvals;
    if (!ap) return { text: 'Trade approvals are not available in this context.' };
    const ccy = quoteOf(services.config.market.symbols);
    const mode = args.mode as Mode | undefined;
    const notional = args.notional as number | undefined;
    if (mode === undefined) {
      const pending = ap.pendingView();
      return {
        title: 'Trade approvals',
        text: `Mode: ${words(ap.mode(), ccy)}\n${pending.text}`,
        ...(pending.buttons.length ? { buttons: pending.buttons } : {}),
      };
    }
    if (mode === 'above' && !(notional !== undefined && notional > 0))
      return badArgs('above needs a positive notional, e.g. /approvals above 500', usage(spec));
    if (mode !== 'above' && notional !== undefined) return badArgs(`${mode} takes no notional`, usage(spec));
    const before = ap.mode();
    ap.setMode(mode, mode === 'above' ? notional : undefined, actor(user));
    const after = ap.mode();
    // A grid is approved as a whole when it starts: one already running keeps placing its level orders.
    const grids = after.mode === 'off' ? [] : (services.grid?.views() ?? []).filter((v) => v.status === 'active').map((v) => v.symbol);
    const gridNote = grids.length
      ? ` The running ${grids.join(', ')} grid${grids.length > 1 ? 's keep' : ' keeps'} placing ${grids.length > 1 ? 'their' : 'its'} level orders without asking (a grid is approved once, when it starts); /grid stop stops it.`
      : '';
    const unseen = approvalsUnseen(services.config.chat, after.mode);
    return {
      text: `Approvals: ${words(after, ccy)} (was ${before.mode}${before.mode === 'above' ? ` ${money(before.aboveNotional, ccy)}` : ''}). Set by ${actor(user)}.${ap.pendingList().length ? ' Pending proposals keep their buttons.' : ''}${gridNote}${unseen ? `\nWarning: ${unseen}` : ''}`,
      ...(unseen ? { severity: 'warning' as const } : {}),
    };
  },
});

export default spec;
