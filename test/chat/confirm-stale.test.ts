// A confirmation prompt that outlived its run (a restart) or was swept after it expired: pressing it
// marks the message no longer valid, instead of leaving live-looking buttons. A second tap of an
// answered prompt, or made-up data, only gets the toast: the message keeps its answer.
import { afterAll, describe, expect, it } from 'vitest';
import { chatUser, startBot, tempDir, type Harness } from '../helpers/harness.ts';

const admin = chatUser('admin');
const QUIET = { strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } } };
const confirmData = (text: string, h: Harness) =>
  h.bot.dispatcher.handleText(admin, text).then((r) => r!.buttons!.flat().find((b) => b.label === 'Confirm')!.data);

describe('stale confirmation prompts', () => {
  const dir = tempDir();
  let h: Harness;
  afterAll(() => h?.stop());

  it("a prompt of the run before a restart: its message says it is no longer valid; this run's answered one keeps its answer", async () => {
    h = await startBot({ dir, candles: 200, config: QUIET });
    const old = await confirmData('/risk set riskPerTrade 2.5%', h);
    await h.stop();
    h = await startBot({ dir, replayFile: h.replay, config: QUIET });
    const res = await h.bot.dispatcher.handleButton(admin, old);
    expect(res.toast).toBe('This button is no longer valid.');
    expect(res.edit).toEqual({
      text: 'This confirmation is no longer valid (it expired, or the bot restarted since it was asked): nothing was done. Send the command again if you still want it.',
      buttons: [],
    });
    const now = await confirmData('/risk set riskPerTrade 3%', h);
    expect((await h.bot.dispatcher.handleButton(admin, now)).edit?.title).toBe('Risk limit changed');
    expect(await h.bot.dispatcher.handleButton(admin, now)).toEqual({ toast: 'This button is no longer valid.' });
    expect(await h.bot.dispatcher.handleButton(admin, 'c:1:deadbeef:y')).toEqual({ toast: 'This button is no longer valid.' });
  });
});
