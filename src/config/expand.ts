/**
 * `${VAR}` and `${VAR:-default}` expansion over the parsed YAML tree. Expanding after parsing (not
 * on the raw text) means a value can never inject YAML structure. Every expanded value is recorded
 * as a secret candidate so that output can be scrubbed of it.
 */
import { LifeboatError } from '../core/errors.js';

const PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface Expansion {
  value: unknown;
  /** Values that came from the environment (could be secrets); never printed. */
  expandedValues: string[];
}

export function expandEnv(tree: unknown, env: NodeJS.ProcessEnv): Expansion {
  const expandedValues: string[] = [];
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') {
      return node.replace(PATTERN, (_m, name: string, fallback: string | undefined) => {
        const found = env[name];
        const value = found !== undefined && found !== '' ? found : fallback;
        if (value === undefined) {
          throw new LifeboatError('config', `${path || 'config'}: environment variable ${name} is not set`, {
            hint: `export ${name}=… or write \${${name}:-default}`,
          });
        }
        if (found) expandedValues.push(found);
        return value;
      });
    }
    if (Array.isArray(node)) return node.map((v, i) => walk(v, `${path}[${i}]`));
    if (node && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([k, v]) => [k, walk(v, path ? `${path}.${k}` : k)]),
      );
    }
    return node;
  };
  return { value: walk(tree, ''), expandedValues };
}
