// --data paths are made absolute where they are read: a queued sweep's workers, started in another
// directory, open the same files the sweep found.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDataArg } from '../../src/research/data.ts';

describe('--data', () => {
  it('symbol=path pairs and a lone path, each made absolute from the current directory', () => {
    expect(parseDataArg('BTC/USDT=btc1h.csv, ETH/USDT=/data/eth.csv', ['BTC/USDT', 'ETH/USDT'])).toEqual({
      'BTC/USDT': join(process.cwd(), 'btc1h.csv'),
      'ETH/USDT': '/data/eth.csv',
    });
    expect(parseDataArg('sub/btc.csv', ['BTC/USDT'])).toEqual({ 'BTC/USDT': join(process.cwd(), 'sub/btc.csv') });
  });
});
