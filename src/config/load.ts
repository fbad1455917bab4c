/**
 * Reads, expands and validates lifeboat.yaml. The one place that turns a file plus the environment
 * into a typed Config; every problem becomes a one-line LifeboatError naming the field's path.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { DEFAULT_SOURCE } from '../catalog/manifest.js';
import { sourceKind } from '../sources/registry.js';
import { LifeboatError, oneLine } from '../util/errors.js';
import type { Redactor } from '../util/redact.js';
import { expandEnv } from './expand.js';
import { configSchema, type Config } from './schema.js';
import { pingTargetProblem } from './notify.js';
import { markUnresolved, markUnresolvedField } from './unresolved.js';
import { registerSigningSecrets } from './signing.js';

/**
 * A job's source is needed only by backup, check, drill and serve, the signing keys only by the
 * commands that sign or check signatures: their variables may be missing.
 */
const isDeferredField = (keys: string[]) =>
  (keys[0] === 'jobs' && (keys[2] === 'source' || (keys[2] === 'sources' && keys.length > 3))) ||
  keys[0] === 'signing';

export function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys')
    message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_type' && /received undefined/.test(message)) message = 'required';
  return `${path || 'config'}: ${message}`;
}

/** Validates an already-parsed (and expanded) config tree. */
export function parseConfig(tree: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(tree ?? {});
  if (!result.success) {
    const first = result.error.issues[0];
    throw new LifeboatError('config', `${source}: ${first ? formatIssue(first) : 'invalid'}`);
  }
  const config = result.data;
  for (const [jobName, job] of Object.entries(config.jobs)) {
    job.storages.forEach((s, i) => {
      if (!config.storages[s]) {
        throw new LifeboatError(
          'config',
          `${source}: jobs.${jobName}.storages[${i}]: no storage named "${s}" (have: ${Object.keys(config.storages).join(', ') || 'none'})`,
        );
      }
    });
  }
  const ping = pingTargetProblem(config.notify, Object.keys(config.jobs));
  if (ping) throw new LifeboatError('config', `${source}: ${ping}`);
  return config;
}

export function registerSecrets(config: Config, redactor: Redactor): void {
  for (const storage of Object.values(config.storages)) {
    if (storage.type === 's3') redactor.add(storage.secretAccessKey);
  }
  for (const job of Object.values(config.jobs)) {
    for (const source of Object.values(job.sources)) {
      const kind = sourceKind(source.type);
      for (const url of kind?.secretUrls?.(source) ?? []) redactor.addUrl(url);
      for (const secret of kind?.secrets?.(source) ?? []) redactor.add(secret);
    }
    // Every command and `serve` load the config here, so the drill's scratch server is masked in all.
    redactor.addUrl(job.drill?.scratch?.url);
  }
  const server = config.server as { token?: unknown } | undefined;
  if (typeof server?.token === 'string') redactor.add(server.token);
  registerSigningSecrets(config.signing, redactor);
  for (const n of config.notify ?? []) {
    // A webhook URL is a secret as a whole (Slack's carries its token in the path).
    if (n.type === 'email') redactor.add(n.password);
    // A ping URL's key sits before {job}, which each run replaces with its job's name.
    else redactor.add(n.type === 'ping' ? n.url.split('{job}')[0] : n.url);
  }
}

/** The file as text and as a YAML tree, not yet expanded nor validated (`k8s render` needs both). */
export async function readConfigTree(file: string): Promise<{ text: string; tree: unknown }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LifeboatError('config', `read config ${file}: ${code === 'ENOENT' ? 'no such file' : code}`, {
      hint: 'pass --config FILE, set LIFEBOAT_CONFIG, or use --source/--to for a one-off backup',
    });
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    throw new LifeboatError(
      'config',
      `parse ${file}${line ? ` line ${line}` : ''}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
    );
  }
  let tree: unknown;
  try {
    // toJS resolves aliases; the yaml library refuses a document whose aliases expand without
    // bound (a "billion laughs" file) or point at no anchor. Both are a problem with the file.
    tree = doc.toJS();
  } catch (err) {
    const message = (err as Error).message;
    throw new LifeboatError(
      'config',
      `parse ${file}: ${/excessive alias count/i.test(message) ? 'too many YAML aliases (the file expands without bound)' : oneLine(err)}`,
    );
  }
  if (tree === null || tree === undefined) {
    throw new LifeboatError('config', `read config ${file}: the file is empty`, {
      hint: 'a config names storages: and jobs:; see the README, Configuration reference',
    });
  }
  return { text, tree };
}

export async function loadConfig(file: string, env: NodeJS.ProcessEnv, redactor: Redactor): Promise<Config> {
  const { tree } = await readConfigTree(file);
  const expanded = expandEnv(tree, env, { defer: isDeferredField });
  const config = parseConfig(expanded.value, file);
  for (const { keys, error } of expanded.deferred) {
    if (keys[0] === 'signing') {
      if (config.signing) markUnresolvedField(config.signing, keys[1]!, error);
      continue;
    }
    // `source:` is the source named main; `sources: {name: …}` names its own.
    const name = keys[2] === 'source' ? DEFAULT_SOURCE : keys[3]!;
    const source = config.jobs[keys[1]!]?.sources[name];
    if (source) markUnresolved(source, error);
  }
  registerSecrets(config, redactor);
  return config;
}
