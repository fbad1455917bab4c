/**
 * `lifeboat check`: validates the config, reaches every source (and checks that a client tool at
 * least as new as its server is installed, that it selects at least one database, and that the
 * role has the privileges the dumps need), and probes every storage with a write, a read back and
 * a delete. One line per check; the exit code is the worst failure's.
 */
import { randomBytes } from 'node:crypto';
import { IDENTITY_ENV } from '../../codecs/age.js';
import { buildJob, buildStorages, plaintextPolicy } from '../../config/compose.js';
import type { JobConfig } from '../../config/schema.js';
import { startChild } from '../../util/child.js';
import type { BackupJob } from '../../core/backup.js';
import { exitCodeFor, LifeboatError } from '../../util/errors.js';
import { putText, readText, type Storage } from '../../storages/storage.js';
import type { Context } from '../context.js';
import { describeError } from '../errors.js';
import { printable } from '../output.js';
import { describeSigning } from '../../config/signing.js';

interface CheckLine {
  check: string;
  ok: boolean;
  detail: string;
}

export async function probeStorage(storage: Storage, signal?: AbortSignal): Promise<string> {
  const key = `.lifeboat/check-${Date.now()}-${randomBytes(4).toString('hex')}`;
  const text = `lifeboat check ${new Date().toISOString()}\n`;
  await putText(storage, key, text, { signal });
  try {
    const back = await readText(storage, key, { signal });
    if (back !== text)
      throw new LifeboatError('integrity', `probe ${storage.name}: read back different bytes than written`);
  } finally {
    await storage.delete(key, { signal });
  }
  if (await storage.stat(key, { signal }))
    throw new LifeboatError('failed', `probe ${storage.name}: delete did not remove ${key}`);
  return `write, read back and delete OK at ${storage.location}`;
}

/** An encrypted job: age is installed, and whether restores and drills here have an identity. */
async function encryptionLine(
  name: string,
  encryption: NonNullable<JobConfig['encryption']>,
): Promise<string> {
  await startChild('age', ['--version'], { label: 'age --version' }).done;
  const setting = `jobs.${name}.encryption.identityFile`;
  const identity = encryption.identityFile
    ? `identity file from ${setting}`
    : process.env[IDENTITY_ENV]
      ? `identity file from ${IDENTITY_ENV}`
      : `no identity here (restores and drills need ${setting} or ${IDENTITY_ENV})`;
  return `age, ${encryption.recipients.length} recipient(s); ${identity}`;
}

export async function checkCommand(ctx: Context, signal: AbortSignal): Promise<number> {
  const config = await ctx.config();
  const lines: CheckLine[] = [{ check: 'config', ok: true, detail: `${ctx.configPath} is valid` }];
  let exit = 0;
  const record = async (check: string, fn: () => Promise<string>) => {
    try {
      lines.push({ check, ok: true, detail: await fn() });
    } catch (err) {
      exit = Math.max(exit, exitCodeFor(err));
      lines.push({ check, ok: false, detail: describeError(err) });
    }
  };
  const storages = buildStorages(config);
  for (const [name, job] of Object.entries(config.jobs)) {
    let sources: BackupJob['sources'] = [];
    try {
      sources = buildJob(name, job, storages).sources;
    } catch (err) {
      await record(`source ${name}`, () => Promise.reject(err));
    }
    for (const { name: sourceName, source } of sources) {
      await record(`source ${name}${sources.length > 1 ? `/${sourceName}` : ''}`, async () => {
        const plan = await source.plan(signal);
        const access = await source.missingPrivileges?.(plan, signal);
        if (access?.missing.length) {
          throw new LifeboatError(
            'config',
            `check privileges of role ${access.role}: it lacks ${access.missing.join('; ')}`,
            { hint: 'grant the role pg_read_all_data (PostgreSQL 14+), or connect as a superuser' },
          );
        }
        return plan.summary;
      });
    }
  }
  for (const [name, job] of Object.entries(config.jobs)) {
    const plaintext = plaintextPolicy(name, job);
    if (!job.encryption && !plaintext) continue;
    await record(`encryption ${name}`, async () => {
      if (plaintext?.refused) throw new LifeboatError('config', plaintext.line, { hint: plaintext.hint });
      if (plaintext) return `WARNING: ${plaintext.line}`;
      return encryptionLine(name, job.encryption!);
    });
  }
  for (const storage of Object.values(storages))
    await record(`storage ${storage.name}`, () => probeStorage(storage, signal));
  if (config.signing) await record('signing', () => describeSigning(config, ctx.redactor));
  for (const l of lines)
    ctx.output.log(l.ok ? 'info' : 'error', `${l.ok ? 'ok  ' : 'FAIL'} ${l.check}: ${l.detail}`);
  ctx.output.result(
    lines.map((l) => `${l.ok ? 'ok' : 'FAIL'}\t${printable(l.check)}\t${printable(l.detail)}`),
    { ok: exit === 0, checks: lines },
  );
  return exit;
}
