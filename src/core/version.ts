import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './paths.ts';

/** Skipper's version: package.json's, the one place it is written. */
export const VERSION: string = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** What runs: "Skipper 0.1.0 on Node v20.20.2" (/health; `skipper --version` prints VERSION alone). */
export const versionLine = (): string => `Skipper ${VERSION} on Node ${process.version}`;
