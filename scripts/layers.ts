/**
 * The layering check of src/ (README "Architecture"): folder pairs that import each other, file
 * import cycles, imports that go up the layer order, and source files over the line limit. Prints
 * "pairs=N cycles=N up=N max=N (file)" and exits 1 when any pair, cycle or upward import exists
 * or a file is over the limit.
 *
 *   node --import tsx scripts/layers.ts [max-lines]     (npm run layers)
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve('src');

/** The layers, lowest first (README "Architecture"): a folder imports only folders before it. */
const ORDER = [
  'util',
  'codecs',
  'storages',
  'catalog',
  'sources',
  'config',
  'core',
  'drill',
  'jobs',
  'demo',
  'deploy',
  'history',
  'scheduler',
  'notify',
  'server',
  'service',
  'cli',
];
const limit = Number(process.argv[2] ?? 400);

const files: string[] = [];
const walk = (dir: string) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.(ts|tsx|mts)$/.test(e.name) && !e.name.endsWith('.d.ts')) files.push(p);
  }
};
walk(root);

const folderOf = (file: string) => path.relative(root, file).split(path.sep).slice(0, -1)[0] ?? '.';
const resolve = (from: string, spec: string) => {
  const base = path.resolve(path.dirname(from), spec.replace(/\.js$/, ''));
  return [base + '.ts', base + '.tsx', path.join(base, 'index.ts')].find((c) => fs.existsSync(c));
};

const folderEdges = new Map<string, Set<string>>();
const fileEdges = new Map<string, Set<string>>();
let max = 0;
let maxFile = '';
for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n').length;
  if (lines > max) [max, maxFile] = [lines, path.relative(process.cwd(), file)];
  const targets = new Set<string>();
  for (const m of text.matchAll(
    /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g,
  )) {
    const target = resolve(file, (m[1] ?? m[2])!);
    if (!target) continue;
    targets.add(target);
    const [a, b] = [folderOf(file), folderOf(target)];
    if (a !== b && a !== '.' && b !== '.') {
      if (!folderEdges.has(a)) folderEdges.set(a, new Set());
      folderEdges.get(a)!.add(b);
    }
  }
  fileEdges.set(file, targets);
}

const pairs: string[] = [];
for (const [a, bs] of folderEdges)
  for (const b of bs) if (a < b && folderEdges.get(b)?.has(a)) pairs.push(`${a}<->${b}`);

// File cycles: Tarjan's strongly connected components of more than one file.
let index = 0;
const stack: string[] = [];
const onStack = new Set<string>();
const indexOf = new Map<string, number>();
const low = new Map<string, number>();
const cycles: string[][] = [];
const strong = (v: string) => {
  indexOf.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of fileEdges.get(v) ?? []) {
    if (!indexOf.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v)!, low.get(w)!));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
  }
  if (low.get(v) === indexOf.get(v)) {
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component);
  }
};
for (const file of files) if (!indexOf.has(file)) strong(file);

// Imports that go up the order, and folders the order does not place (a new folder needs a layer).
const upward: string[] = [];
for (const [a, bs] of folderEdges)
  for (const b of bs)
    if (ORDER.includes(a) && ORDER.indexOf(b) > ORDER.indexOf(a)) upward.push(`${a} -> ${b}`);
const unplaced = [...new Set(files.map(folderOf))].filter((f) => f !== '.' && !ORDER.includes(f)).sort();

if (pairs.length) console.log('folders importing each other: ' + pairs.join(' '));
for (const c of cycles) console.log('file cycle: ' + c.map((f) => path.relative(root, f)).join(' -> '));
if (upward.length) console.log('imports up the layer order: ' + upward.sort().join(', '));
if (unplaced.length)
  console.log('folders without a layer (add them to ORDER in scripts/layers.ts): ' + unplaced.join(' '));
if (max > limit) console.log(`over ${limit} lines: ${maxFile}`);
console.log('order, lowest first: ' + ORDER.join(' < '));
console.log(
  `pairs=${pairs.length} cycles=${cycles.length} up=${upward.length + unplaced.length} max=${max} (${maxFile}) files=${files.length}`,
);
process.exitCode = pairs.length || cycles.length || upward.length || unplaced.length || max > limit ? 1 : 0;
