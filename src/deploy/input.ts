/**
 * The config as `k8s render` sees it: the file's text (which goes into the ConfigMap unexpanded,
 * so that no secret is ever written to a manifest), the `${VAR}`s it uses (which become env
 * entries from the Secret), and the validated structure (job names, schedules, sources), read
 * with placeholders instead of the environment so that the output does not depend on who renders.
 */
import { readConfigTree, parseConfig, registerSecrets } from '../config/load.js';
import { referencedVariables, VARIABLE_PATTERN } from '../config/expand.js';
import type { Config } from '../config/schema.js';
import { LifeboatError } from '../util/errors.js';
import { Redactor } from '../util/redact.js';

export interface RenderInput {
  text: string;
  config: Config;
  /** Variable name → whether every use has a default (its Secret key may then be absent). */
  variables: Map<string, { hasDefault: boolean }>;
  /** The variable that holds server.token when it is exactly `${VAR}`. */
  tokenVariable?: string;
  /**
   * Job and drill schedules (cron, timezone) written with a `${VAR}`: `serve` reads them when it
   * runs, a CronJob's are part of its manifest.
   */
  scheduleVariables: Baked[];
}

/** A config field (`jobs.app.schedule.timezone`) and its text as written. */
export interface Baked {
  at: string;
  value: string;
}

/**
 * Stands in for a whole-field `${VAR}` of an age recipient (`encryption: { recipients:
 * ["${AGE_RECIPIENT}"] }`, as SPEC §5 writes it): the field must parse as a recipient. Never used
 * to encrypt: rendering only validates the structure.
 */
const RECIPIENT_PLACEHOLDER = `age1${'q'.repeat(58)}`;

/** `jobs.NAME.encryption.recipients.N`: a field the placeholder must make a recipient of. */
const isRecipient = (at: string[]) =>
  at.length === 5 && at[0] === 'jobs' && at[2] === 'encryption' && at[3] === 'recipients';

/** A valid stand-in for a time zone or a cron expression holding a `${VAR}` (validated only). */
const SCHEDULE_PLACEHOLDERS: Record<string, string> = { timezone: 'UTC', cron: '0 0 * * *' };

/** `jobs.NAME.schedule.F` or `jobs.NAME.drill.schedule.F`: what a CronJob writes into its manifest. */
const isCronJobSchedule = (at: string[]) =>
  at[0] === 'jobs' &&
  ((at.length === 4 && at[2] === 'schedule') ||
    (at.length === 5 && at[2] === 'drill' && at[3] === 'schedule'));

/**
 * A whole-field `${VAR}` becomes a URL (fields such as a webhook must parse as one), or an age
 * recipient in a recipient's place; inside a longer string it becomes a plain word, so that a URL
 * around it still parses. A time zone or cron expression with a variable anywhere becomes a valid
 * one (else its error would name the stand-in), and a schedule's is noted in `baked`: a CronJob
 * cannot read it from the Secret.
 */
function withPlaceholders(tree: unknown, baked: Baked[], at: string[] = []): unknown {
  if (typeof tree === 'string') {
    const field = at.at(-1) ?? '';
    if (field in SCHEDULE_PLACEHOLDERS && tree.search(VARIABLE_PATTERN) !== -1) {
      if (isCronJobSchedule(at)) baked.push({ at: at.join('.'), value: tree });
      return SCHEDULE_PLACEHOLDERS[field];
    }
    const whole = tree.match(new RegExp(`^${VARIABLE_PATTERN.source}$`));
    if (whole)
      return (
        whole[2] ??
        (isRecipient(at)
          ? RECIPIENT_PLACEHOLDER
          : `https://${whole[1]!.toLowerCase().replace(/_/g, '-')}.invalid/`)
      );
    return tree.replace(
      VARIABLE_PATTERN,
      (_m, name: string, fallback?: string) => fallback ?? `placeholder${name}`,
    );
  }
  if (Array.isArray(tree)) return tree.map((v, i) => withPlaceholders(v, baked, [...at, String(i)]));
  if (tree && typeof tree === 'object')
    return Object.fromEntries(
      Object.entries(tree).map(([k, v]) => [k, withPlaceholders(v, baked, [...at, k])]),
    );
  return tree;
}

export async function readRenderInput(file: string): Promise<RenderInput> {
  const { text, tree } = await readConfigTree(file);
  const scheduleVariables: Baked[] = [];
  const config = parseConfig(withPlaceholders(tree, scheduleVariables), file);
  // Secret fields (passwords, tokens, webhook URLs …) must come from the environment: written
  // literally, they would end up in the ConfigMap.
  const redactor = new Redactor();
  registerSecrets(config, redactor);
  const inUrl = [...text.matchAll(/\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:([^@/?#\s]*)@/gi)].some(
    ([, password]) => password!.replace(VARIABLE_PATTERN, '') !== '',
  );
  if (inUrl || redactor.redact(text) !== new Redactor().redact(text)) {
    throw new LifeboatError(
      'config',
      `render ConfigMap from ${file}: a secret is written literally in the file`,
      {
        hint: 'write it as ${VAR} (passwords, tokens, secret keys, webhook URLs); the Secret provides it',
      },
    );
  }
  const token = (tree as { server?: { token?: unknown } }).server?.token;
  const whole = typeof token === 'string' ? token.match(new RegExp(`^${VARIABLE_PATTERN.source}$`)) : null;
  return {
    text,
    config,
    variables: referencedVariables(tree),
    tokenVariable: whole?.[1],
    scheduleVariables,
  };
}
