/**
 * `${VAR}` and `${VAR:-default}` expansion over the parsed YAML tree. Expanding after parsing (not
 * on the raw text) means a value can never inject YAML structure. Every expanded value is recorded
 * as a secret candidate so that output can be scrubbed of it.
 *
 * Some fields are only needed by some commands (a job's source by backup, check, drill and serve,
 * not by list or status). For those, `defer` says so: a missing variable there leaves the string
 * as written and is reported in `deferred` instead of failing the whole file; whoever uses the
 * field raises it then (see unresolved.ts).
 */
import { LifeboatError } from '../util/errors.js';

export const VARIABLE_PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface DeferredProblem {
  /** The field's path as keys (`['jobs', 'app', 'source', 'url']`). */
  keys: string[];
  error: LifeboatError;
}

export interface Expansion {
  value: unknown;
  /** Values that came from the environment (could be secrets); never printed. */
  expandedValues: string[];
  /** Missing variables in deferred fields, left unexpanded. */
  deferred: DeferredProblem[];
}

export function expandEnv(
  tree: unknown,
  env: NodeJS.ProcessEnv,
  opts: { defer?: (keys: string[]) => boolean } = {},
): Expansion {
  const expandedValues: string[] = [];
  const deferred: DeferredProblem[] = [];
  const walk = (node: unknown, path: string, keys: string[]): unknown => {
    if (typeof node === 'string') {
      const found: string[] = [];
      let missing: LifeboatError | undefined;
      const expanded = node.replace(VARIABLE_PATTERN, (m, name: string, fallback: string | undefined) => {
        const set = env[name];
        const value = set !== undefined && set !== '' ? set : fallback;
        if (value === undefined) {
          missing ??= new LifeboatError(
            'config',
            `${path || 'config'}: environment variable ${name} is not set`,
            { hint: `export ${name}=… or write \${${name}:-default}` },
          );
          return m;
        }
        if (set) found.push(set);
        return value;
      });
      if (missing) {
        if (!opts.defer?.(keys)) throw missing;
        deferred.push({ keys, error: missing });
        return node;
      }
      expandedValues.push(...found);
      return expanded;
    }
    if (Array.isArray(node)) return node.map((v, i) => walk(v, `${path}[${i}]`, [...keys, String(i)]));
    if (node && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([k, v]) => [k, walk(v, path ? `${path}.${k}` : k, [...keys, k])]),
      );
    }
    return node;
  };
  return { value: walk(tree, '', []), expandedValues, deferred };
}

/** Every `${VAR}` the tree uses, by name; `hasDefault` when each use of it has a `:-default`. */
export function referencedVariables(tree: unknown): Map<string, { hasDefault: boolean }> {
  const found = new Map<string, { hasDefault: boolean }>();
  const walk = (node: unknown): void => {
    if (typeof node === 'string') {
      for (const [, name, fallback] of node.matchAll(VARIABLE_PATTERN)) {
        const before = found.get(name!);
        found.set(name!, { hasDefault: (before?.hasDefault ?? true) && fallback !== undefined });
      }
    } else if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') Object.values(node).forEach(walk);
  };
  walk(tree);
  return found;
}
