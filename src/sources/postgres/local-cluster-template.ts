/**
 * A fresh data directory for a throwaway local cluster (local-cluster.ts) copied from a template
 * instead of made by initdb: initdb bootstraps the whole catalog (~3 s of CPU), a copy of its
 * untouched output takes a tenth of that. Test runs start hundreds of clusters, so
 * scripts/run-tests.ts hands every process of a run one template dir (LIFEBOAT_TEST_PG_TEMPLATES);
 * without it, every cluster runs initdb.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, chown, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { LifeboatError, oneLine } from '../../util/errors.js';
import type { ClusterContext } from './local-cluster-process.js';
import { initdb } from './local-cluster-setup.js';

const execFileAsync = promisify(execFile);

/** The variable naming the template dir; the run that sets it owns the dir and removes it. */
export const TEMPLATES_ENV = 'LIFEBOAT_TEST_PG_TEMPLATES';

/**
 * Fills ctx.dataDir with a fresh cluster: a copy of this installation's template in `root`, which
 * the first process to need it makes with initdb. Processes racing to make it each make their own
 * and rename it into place; the first rename wins, so a template in place is always complete.
 */
export async function initdbFromTemplate(ctx: ClusterContext, root: string): Promise<void> {
  // One template per installation and owner: initdb's catalog belongs to its binaries, and the
  // server refuses a data dir it does not own.
  const key = createHash('sha256')
    .update(`${ctx.binDir}\0${ctx.version}\0${ctx.runAs?.uid ?? ''}`)
    .digest('hex')
    .slice(0, 16);
  const template = path.join(root, `pg${ctx.major}-${key}`);
  if (!(await exists(template))) await makeTemplate(ctx, root, template);
  try {
    // -a keeps modes and owners: the server wants its data dir 0700 and owned by its own account.
    await execFileAsync('cp', ['-a', '--', path.join(template, 'data'), ctx.dataDir]);
  } catch (err) {
    throw new LifeboatError('failed', `start local cluster: copy template ${template}: ${oneLine(err)}`);
  }
}

async function makeTemplate(ctx: ClusterContext, root: string, template: string): Promise<void> {
  const staging = await mkdtemp(path.join(root, `.staging-${process.pid}-`));
  try {
    if (ctx.runAs) await chown(staging, ctx.runAs.uid, ctx.runAs.gid); // initdb runs there as it
    await initdb({ ...ctx, base: staging, dataDir: path.join(staging, 'data') });
    await rename(staging, template).catch(async (err: NodeJS.ErrnoException) => {
      // Another process put its template there first: use that one.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
  }
}

function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}
