/**
 * A strict reader of the Prometheus text exposition format (0.0.4), enough to prove `/metrics`
 * parses: every line is a `# HELP`/`# TYPE` comment or `name{label="value",…} number`, and every
 * sample belongs to a declared metric family.
 */
const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE = new RegExp(
  `^(${NAME})(\\{(?:${LABEL})(?:,${LABEL})*,?\\})?[ ]+(NaN|[+-]Inf|[+-]?[0-9]+(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?:[ ]+-?[0-9]+)?$`,
);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Series (`name{labels}` exactly as written) to value; throws naming the first bad line. */
export function parsePrometheus(text: string): Map<string, number> {
  const series = new Map<string, number>();
  const families = new Map<string, string>();
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line.startsWith('#')) {
      const m = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`).exec(line);
      if (!m) throw new Error(`${where}: not a HELP or TYPE comment`);
      if (m[1] === 'TYPE') {
        if (!TYPES.has(m[3] ?? '')) throw new Error(`${where}: unknown type`);
        families.set(m[2]!, m[3]!);
      }
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`${where}: not "name{labels} value"`);
    const family = m[1]!.replace(/_(bucket|sum|count|total)$/, '');
    if (!families.has(m[1]!) && !families.has(family)) throw new Error(`${where}: no # TYPE for ${m[1]}`);
    series.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  });
  return series;
}
