/**
 * A job's source whose `${VAR}`s could not all be expanded: the config still loads (list, status,
 * verify, prune and restore never touch the source), and the error is raised where the source is
 * used — building it for a backup or check, a drill, or `serve` starting up.
 */
import type { LifeboatError } from '../util/errors.js';
import type { Config, SourceConfig } from './schema.js';

const problems = new WeakMap<object, LifeboatError>();

export function markUnresolved(source: object, error: LifeboatError): void {
  if (!problems.has(source)) problems.set(source, error);
}

/** The source as configured; throws the missing-variable error when it could not be expanded. */
export function resolvedSource<S extends SourceConfig>(source: S): S {
  const problem = problems.get(source);
  if (problem) throw problem;
  return source;
}

/** The source when fully expanded, else undefined (for optional hints such as its binDir). */
export function sourceIfResolved<S extends SourceConfig>(source: S | undefined): S | undefined {
  return source && !problems.has(source) ? source : undefined;
}

/** Throws for the first of these jobs (all by default) whose source is unresolved. */
export function assertSourcesResolved(config: Config, jobs = Object.keys(config.jobs)): void {
  for (const name of jobs) {
    const job = config.jobs[name];
    for (const source of Object.values(job?.sources ?? {})) resolvedSource(source);
  }
}

const fieldProblems = new WeakMap<object, Map<string, LifeboatError>>();

/** A field of `owner` (e.g. signing.key) whose `${VAR}` is missing: raised by whoever reads it. */
export function markUnresolvedField(owner: object, field: string, error: LifeboatError): void {
  const fields = fieldProblems.get(owner) ?? new Map<string, LifeboatError>();
  if (!fields.has(field)) fields.set(field, error);
  fieldProblems.set(owner, fields);
}

export function unresolvedField(owner: object, field: string): LifeboatError | undefined {
  return fieldProblems.get(owner)?.get(field);
}
