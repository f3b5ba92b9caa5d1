import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/core/paths.ts';

/** Real historical candles beside the project (see its SOURCES.md); absent in a fresh clone. */
export const SHARED_DATA = join(PROJECT_ROOT, '..', 'shared', 'data');
