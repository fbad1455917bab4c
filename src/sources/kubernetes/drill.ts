/**
 * The drill of a kubernetes source (SPEC §5, "drill proves"): every namespace's stream is decoded,
 * every object parses and validates against its kind's schema (validate.ts), and the counts per
 * kind match the manifest's. With `drill.kubernetes.dryRun: true` every object is also applied by
 * server-side dry run into a scratch namespace per backed-up namespace (created for the drill and
 * deleted after it, also on failure), so the API server itself (admission, defaults, CRD schemas)
 * judges them. Never throws: the result says where it stopped and why.
 */
import { randomBytes } from 'node:crypto';
import type { CheckResult } from '../../catalog/drill-report.js';
import { oneLine } from '../../util/errors.js';
import type { SourceDrillContext, SourceDrillResult } from '../kind.js';
import { applyObjects, FIELD_MANAGER } from './apply.js';
import type { KubeObject } from './clean.js';
import { clusterClient, type ClusterAccess } from './cluster.js';
import { toLifeboatError, type KubeClient } from './client.js';
import { checkNamespace, decodeNamespaces } from './read.js';
import type { KubernetesBackup } from './record.js';
import { serverVersion } from './kubernetes-source.js';

const line = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'no objects';

async function namespaceCall(
  client: KubeClient,
  ns: string,
  method: 'PATCH' | 'DELETE',
  signal: AbortSignal,
) {
  const apiPath = `/api/v1/namespaces/${encodeURIComponent(ns)}`;
  try {
    await client.request(method, apiPath, {
      what: `${method === 'PATCH' ? 'create' : 'delete'} scratch namespace ${ns}`,
      signal,
      ...(method === 'PATCH'
        ? {
            contentType: 'application/apply-patch+yaml',
            query: { fieldManager: FIELD_MANAGER },
            body: JSON.stringify({
              apiVersion: 'v1',
              kind: 'Namespace',
              metadata: { name: ns, labels: { 'app.kubernetes.io/managed-by': 'lifeboat' } },
            }),
          }
        : {}),
    });
  } catch (err) {
    throw toLifeboatError(err, client.server);
  }
}

export async function drillKubernetes(ctx: SourceDrillContext): Promise<SourceDrillResult> {
  const part = ctx.part as KubernetesBackup;
  const { signal, log } = ctx;
  const timings = { scratchMs: 0, restoreMs: 0, checksMs: 0 };
  const checks: CheckResult[] = [];
  const cleanup: string[] = [];
  let scratch: SourceDrillResult['scratch'] = null;
  const bytes = part.artifacts.reduce((n, a) => n + a.size, 0);
  const result = (stage: SourceDrillResult['stage'], restored: boolean, error?: unknown) => ({
    stage,
    scratch,
    checks,
    bytes,
    restored,
    cleanup,
    timings,
    ...(error !== undefined ? { error } : {}),
  });

  const t1 = Date.now();
  let streams;
  try {
    streams = await decodeNamespaces(ctx.storage, part, { keys: ctx.keys, signal });
  } catch (err) {
    log('restore FAILED');
    return result('restore', false, err);
  }
  timings.restoreMs = Date.now() - t1;

  const t2 = Date.now();
  const valid: Array<{ namespace: string; objects: KubeObject[] }> = [];
  for (const ns of streams) {
    const name = `objects ${ns.namespace}`;
    const expected = line(part.source.counts?.[ns.namespace] ?? {});
    try {
      const { objects, counts } = await checkNamespace(part, ns);
      checks.push({ name, ok: true, expected, actual: `${line(counts)}, all valid` });
      valid.push({ namespace: ns.namespace, objects });
    } catch (err) {
      checks.push({ name, ok: false, expected, actual: oneLine(err) });
    }
  }
  for (const c of ctx.drill?.checks ?? []) {
    checks.push({ name: c.name, ok: false, expected: c.expect, actual: 'a kubernetes source runs no SQL' });
  }
  const dryRun = (ctx.drill?.kubernetes as { dryRun?: boolean } | undefined)?.dryRun === true;
  if (dryRun && valid.length === streams.length) {
    const access = (ctx.settings ?? {}) as ClusterAccess;
    try {
      await dryRunApply(
        clusterClient(access),
        valid,
        part,
        ctx,
        checks,
        cleanup,
        timings,
        (s) => (scratch = s),
      );
    } catch (err) {
      timings.checksMs = Date.now() - t2;
      return result('scratch', true, err);
    }
  }
  timings.checksMs = Date.now() - t2 - timings.scratchMs;
  return result('checks', true);
}

/** Scratch namespaces, one per backed-up namespace; every object applied into its one by dry run. */
async function dryRunApply(
  client: KubeClient,
  valid: Array<{ namespace: string; objects: KubeObject[] }>,
  part: KubernetesBackup,
  ctx: SourceDrillContext,
  checks: CheckResult[],
  cleanup: string[],
  timings: { scratchMs: number },
  setScratch: (s: NonNullable<SourceDrillResult['scratch']>) => void,
): Promise<void> {
  const { signal } = ctx;
  const tag = randomBytes(3).toString('hex');
  const map = Object.fromEntries(valid.map((n, i) => [n.namespace, `lifeboat-drill-${tag}-${i}`]));
  const created: string[] = [];
  const t0 = Date.now();
  try {
    for (const scratch of Object.values(map)) {
      await namespaceCall(client, scratch, 'PATCH', signal);
      created.push(scratch);
    }
    setScratch({
      kind: 'server',
      where: `${client.server} namespaces ${created.join(', ')}`,
      serverVersion: (await serverVersion(client, signal)) ?? '',
    });
    timings.scratchMs = Date.now() - t0;
    ctx.log(`drill ${part.name}: server-side dry run into ${created.join(', ')}`);
    for (const { namespace, objects } of valid) {
      const name = `server-side dry run ${namespace}`;
      try {
        const summary = await applyObjects(client, objects, {
          namespaceMap: map,
          dryRun: true,
          emptyNamespaces: created,
          signal,
        });
        const n = Object.values(summary.perKind).reduce((sum, k) => sum + k.created, 0);
        checks.push({
          name,
          ok: n === objects.length,
          expected: `${objects.length} accepted`,
          actual: `${n} accepted`,
        });
      } catch (err) {
        checks.push({ name, ok: false, expected: `${objects.length} accepted`, actual: oneLine(err) });
      }
    }
  } finally {
    for (const scratch of created) {
      // Deleted even when the drill was stopped: a fresh signal, bounded by the client's timeout.
      await namespaceCall(client, scratch, 'DELETE', AbortSignal.timeout(30_000)).catch((err: unknown) => {
        cleanup.push(`namespace ${scratch}: ${oneLine(err)}`);
        ctx.warn(`remove drill scratch namespace ${scratch}: ${oneLine(err)}`);
      });
    }
  }
}
