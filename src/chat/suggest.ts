// "Did you mean …?" for an unknown command: Freqtrade's and Hummingbot's names for the same things,
// a unique prefix (/pos), or a typo one or two edits away (/staus). Only commands the user may run.
import { distance } from 'fastest-levenshtein';

/** Other bots' command names → ours (a suggestion only: nothing runs under another name). */
const OTHER_BOTS: Readonly<Record<string, string>> = {
  profit: 'pnl',
  stats: 'performance',
  history: 'trades',
  count: 'positions',
  forceexit: 'close',
  forcesell: 'close',
  fx: 'close',
  forcebuy: 'buy',
  forcelong: 'buy',
  forceenter: 'buy',
  forceshort: 'sell',
  stopbuy: 'pause',
  stopentry: 'pause',
  stop: 'pause',
  start: 'resume',
  delete: 'cancel',
  cancel_open_order: 'cancel',
  show_config: 'config',
  reload_config: 'reload',
  limits: 'risk',
  limit: 'risk',
  locks: 'risk',
  lock: 'pause',
  blacklist: 'pause',
  unlock: 'resume',
  version: 'health',
};

/** The command the user most likely meant, among `names` (the ones they may run); undefined when unsure. */
export function suggestCommand(typed: string, names: readonly string[]): string | undefined {
  const name = typed.toLowerCase();
  if (name.length < 2) return undefined;
  const alias = OTHER_BOTS[name];
  if (alias !== undefined) return names.includes(alias) ? alias : undefined;
  const prefixed = names.filter((n) => n.startsWith(name));
  if (name.length >= 3 && prefixed.length === 1) return prefixed[0];
  const most = name.length >= 6 ? 2 : 1;
  let best: string | undefined;
  let bestD = Infinity;
  let tie = false;
  for (const n of names) {
    const d = distance(name, n);
    if (d < bestD) [best, bestD, tie] = [n, d, false];
    else if (d === bestD) tie = true;
  }
  return bestD <= most && !tie ? best : undefined;
}
