import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { defineCommand, bytes, utc, type TransportName } from './kit.ts';

/** Largest file each transport accepts from a bot (Telegram Bot API 50 MB; Discord 10 MiB without boosts). */
const MAX_UPLOAD: Partial<Record<TransportName, number>> = { telegram: 50_000_000, discord: 10 * 1024 * 1024 };

export default defineCommand({
  name: 'backup',
  description: 'Send you the latest journal backup (gzip); "now" takes a fresh one first',
  minRole: 'admin',
  ephemeral: true,
  args: [{ name: 'when', type: 'enum', choices: ['latest', 'now'], description: 'latest (default) or now' }],
  async run({ args, services, user }) {
    const b = services.backups;
    if (!b) return { text: 'Backups are not available in this process.' };
    let latest = args.when === 'now' ? undefined : b.latest();
    if (!latest) {
      const r = await b.run('command');
      latest = { file: r.file, bytes: r.bytes, mtimeMs: services.clock.now() };
    }
    const name = basename(latest.file);
    const about = `${name}, taken ${utc(latest.mtimeMs)}, ${bytes(latest.bytes)}`;
    // The file sent in chat is gzipped; the one on the bot's machine is not.
    const restore = `Restore with: gunzip ${name}.gz && skipper db restore ${name} (with the bot stopped).`;
    const restoreHere = `Restore with: skipper db restore ${latest.file} (with the bot stopped).`;
    const limit = MAX_UPLOAD[user.transport];
    if (limit === undefined) return { title: 'Journal backup', text: `${about}\nIn ${b.dir}.\n${restoreHere}`, ephemeral: true };
    const data = await promisify(gzip)(await readFile(latest.file));
    if (data.length > limit)
      return {
        title: 'Journal backup',
        text: `${about} — ${bytes(data.length)} compressed, too large to send here (limit ${bytes(limit)}). It is in ${b.dir} on the bot's machine.\n${restoreHere}`,
        ephemeral: true,
      };
    return {
      title: 'Journal backup',
      text: `${about} (${bytes(data.length)} compressed).\n${restore}`,
      document: { data, filename: `${name}.gz` },
      ephemeral: true,
    };
  },
});
