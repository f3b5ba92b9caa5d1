// What really feeds the bot: one description for /mode, /status and the start banner, made from the
// same inputs the bot builds its feeds from (a --replay on the command line beats the config).
import { basename } from 'node:path';
import type { Config } from './schema.ts';

export type DataSource =
  | { kind: 'replay'; file: string; speed: number | 'max'; from: 'command line' | 'config' }
  | { kind: 'live'; exchange: string; websocket: boolean; pollSec: number }
  /** Feeds handed in by the caller (tests, embedding). */
  | { kind: 'feeds'; names: string[] };

export function dataSourceOf(data: Config['data'], cli: { replay?: string | undefined; speed?: number | 'max' | undefined }): DataSource {
  if (cli.replay) return { kind: 'replay', file: cli.replay, speed: cli.speed ?? data.speed, from: 'command line' };
  if (data.source === 'replay' && data.replayFile)
    return { kind: 'replay', file: data.replayFile, speed: cli.speed ?? data.speed, from: 'config' };
  return { kind: 'live', exchange: data.exchange, websocket: data.websocket, pollSec: data.pollSec };
}

export function describeDataSource(d: DataSource): string {
  switch (d.kind) {
    case 'replay':
      return `replay of ${basename(d.file)} (${d.from}) at ${d.speed === 'max' ? 'full speed' : `${d.speed}× real time`}, on candle time`;
    case 'live':
      return `live candles from ${d.exchange} (${d.websocket ? 'websocket' : `polling every ${d.pollSec} s`})`;
    case 'feeds':
      return d.names.join(', ') || 'no feed';
  }
}
