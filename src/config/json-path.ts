/**
 * The JSON-path subset an http check's `json.path` takes: `$` (the whole document), then member
 * names (`.status`, `['a key']`, `["a key"]`) and array positions (`[0]`), e.g.
 * `$.checks[0].status`. Enough to reach one value of a health endpoint's answer; filters and
 * wildcards (which yield several values) have no single value to hold to an expectation. Pure.
 */

export type JsonPath = Array<string | number>;

const NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*/;

/** Parses a path; throws an Error saying where it is malformed. */
export function parseJsonPath(text: string): JsonPath {
  const bad = (why: string): never => {
    throw new Error(`"${text}": ${why} (expected a path like $.status or $.checks[0].state)`);
  };
  if (!text.startsWith('$')) bad('a path starts with $');
  const path: JsonPath = [];
  let rest = text.slice(1);
  while (rest) {
    if (rest.startsWith('.')) {
      const m = NAME.exec(rest.slice(1));
      if (!m) bad(`expected a name after "."`);
      path.push(m![0]);
      rest = rest.slice(1 + m![0].length);
      continue;
    }
    const index = /^\[(\d+)\]/.exec(rest);
    if (index) {
      path.push(Number(index[1]));
      rest = rest.slice(index[0].length);
      continue;
    }
    const quoted = /^\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/.exec(rest);
    if (quoted) {
      path.push((quoted[1] ?? quoted[2]!).replace(/\\(.)/g, '$1'));
      rest = rest.slice(quoted[0].length);
      continue;
    }
    bad(`cannot read "${rest}"`);
  }
  return path;
}

/** The value at `path`, or `found: false` when a member or position is missing. */
export function valueAt(doc: unknown, path: JsonPath): { found: boolean; value?: unknown } {
  let value = doc;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(value) || step >= value.length) return { found: false };
      value = value[step];
    } else {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, step))
        return { found: false };
      value = (value as Record<string, unknown>)[step];
    }
  }
  return { found: true, value };
}

/**
 * A JSON value as the expectation language reads values: strings as they are, numbers and
 * booleans as text, null as NULL, objects and arrays as their JSON.
 */
export function jsonText(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
