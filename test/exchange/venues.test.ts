// The one venue list: the config schema, the ccxt specs and the README table follow it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { CCXT_SPECS } from '../../src/exchange/ccxt/specs.ts';
import { LIVE_VENUE_IDS, VENUE_IDS, venueTableRows } from '../../src/exchange/venues.ts';

/** The markdown table whose header starts with `exchange.name`, as rows of trimmed cells (the --- line dropped). */
function readmeVenueTable(): string[][] {
  const lines = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8').split('\n');
  const start = lines.findIndex((l) => /^\|\s*`exchange\.name`\s*\|/.test(l));
  expect(start, 'README has a venue table').toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const l of lines.slice(start)) {
    if (!l.startsWith('|')) break;
    if (/^\|[\s|:-]+\|$/.test(l)) continue;
    rows.push(
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return rows;
}

describe('venues', () => {
  it('the README venue table is the venue list', () => {
    expect(readmeVenueTable()).toEqual(venueTableRows());
  });

  it('exchange.name takes every venue id and data.exchange every live one; nothing else', () => {
    for (const name of VENUE_IDS) {
      const mode = name === 'paper' ? 'paper' : 'live';
      expect(parseConfig({ mode, exchange: { name } }).exchange.name).toBe(name);
    }
    for (const exchange of LIVE_VENUE_IDS) expect(parseConfig({ data: { exchange } }).data.exchange).toBe(exchange);
    expect(() => parseConfig({ exchange: { name: 'kraken' } })).toThrow(/exchange\.name/);
    expect(() => parseConfig({ data: { exchange: 'paper' } })).toThrow(/data\.exchange/);
  });

  it('every live venue has a ccxt spec under its own id', () => {
    expect(Object.keys(CCXT_SPECS).sort()).toEqual([...LIVE_VENUE_IDS].sort());
    for (const id of LIVE_VENUE_IDS) expect(CCXT_SPECS[id].id).toBe(id);
  });
});
