// An approved proposal is checked again before it is placed: an entry proposed while flat, approved
// after a position opened on the symbol (a manual buy), is not turned into an add while pyramiding is off.
import { describe, expect, it } from 'vitest';
import type { Proposal } from '../../src/engine/engine.ts';
import { rig, SYM } from '../helpers/engine-rig.ts';

describe('approval re-check', () => {
  it('an entry approved after a position opened meanwhile: not placed with pyramiding off', () => {
    const proposals: Proposal[] = [];
    const r = rig({ 0: 'enter_long' }, { approvals: () => ({ required: () => true, propose: (p) => proposals.push(p) }) });
    r.candle(100, 100, 100, 100);
    expect(proposals.map((p) => p.purpose)).toEqual(['entry']);
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    r.candle(100, 100, 100, 100);
    expect(r.engine.portfolio.positions.get(SYM)?.qty).toBe(1);
    const res = r.engine.resolveProposal(proposals[0]!, 'approved', 0.05);
    expect(res).toEqual({
      placed: false,
      message: 'not placed: a long BTC/USDT position opened since the proposal, and pyramiding is off',
    });
    r.candle(100, 100, 100, 100);
    expect(r.engine.portfolio.positions.get(SYM)?.qty).toBe(1);
  });
});
