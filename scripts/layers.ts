/**
 * The layering check of src/ (README "Architecture"): folder pairs that import each other, file
 * import cycles, and source files over the line limit. Prints "pairs=N cycles=N max=N (file)" and
 * exits 1 when any pair or cycle exists or a file is over the limit.
 *
 *   node --import tsx scripts/layers.ts [max-lines]     (npm run layers)
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve('src');
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

// Folders lowest first: each after every folder it imports (meaningful when there are no pairs).
const order: string[] = [];
const seen = new Set<string>();
const visit = (f: string) => {
  if (seen.has(f)) return;
  seen.add(f);
  for (const d of [...(folderEdges.get(f) ?? [])].sort()) visit(d);
  order.push(f);
};
for (const f of [...new Set(files.map(folderOf))].filter((f) => f !== '.').sort()) visit(f);

if (pairs.length) console.log('folders importing each other: ' + pairs.join(' '));
for (const c of cycles) console.log('file cycle: ' + c.map((f) => path.relative(root, f)).join(' -> '));
if (max > limit) console.log(`over ${limit} lines: ${maxFile}`);
if (!pairs.length) console.log('order, lowest first: ' + order.join(' < '));
console.log(`pairs=${pairs.length} cycles=${cycles.length} max=${max} (${maxFile}) files=${files.length}`);
process.exitCode = pairs.length || cycles.length || max > limit ? 1 : 0;
