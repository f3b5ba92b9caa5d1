// The yaml library on first use: it takes ~70 ms to load, and `npm start` on the default config (or a
// JSON file) never parses YAML. Loaded through require (yaml ships CommonJS for node) so config
// loading stays synchronous.
import { createRequire } from 'node:module';

type Yaml = typeof import('yaml');
let lib: Yaml | undefined;

export const yaml = (): Yaml => (lib ??= createRequire(import.meta.url)('yaml') as Yaml);
