/**
 * The Dockerfile, checked without a container runtime (none on these machines): its stages, base
 * image, the user it runs as, its entrypoint, its labels, that every file it copies exists and is
 * in the build context, and that its install script is executable, parses, and (on Debian
 * bookworm, like the base image) resolves its pinned Debian packages with apt.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from './helpers/lifeboat.js';

const run = promisify(execFile);

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

/** Stages: each FROM and the instructions after it, with the ARG defaults in scope. */
function stages(all: Instruction[]) {
  const global = new Map<string, string>();
  const out: Array<{ name?: string; from: string; body: Instruction[]; args: Map<string, string> }> = [];
  for (const ins of all) {
    if (ins.op === 'FROM') {
      const [image, as, name] = ins.args.split(/\s+/);
      const from = image!.replace(/\$\{(\w+)\}/g, (_m, v: string) => global.get(v) ?? '');
      out.push({ name: as?.toUpperCase() === 'AS' ? name : undefined, from, body: [], args: new Map() });
    } else if (ins.op === 'ARG') {
      const m = ins.args.match(/^(\w+)(?:=(.*))?$/)!;
      const value = (m[2] ?? '').replace(/^"(.*)"$/, '$1');
      (out.length ? out.at(-1)!.args : global).set(m[1]!, value);
    } else out.at(-1)?.body.push(ins);
  }
  return out;
}

const dockerfile = () => readFile(path.join(ROOT, 'Dockerfile'), 'utf8');

describe('container image (static)', () => {
  test('multi-stage on Debian bookworm slim with Node >= 22; runtime runs lifeboat as a non-root user', async () => {
    const all = stages(instructions(await dockerfile()));
    assert.deepEqual(
      all.map((s) => s.name),
      ['build', 'runtime'],
    );
    for (const s of all) {
      const m = s.from.match(/^node:(\d+)\.\d+\.\d+-bookworm-slim$/);
      assert.ok(m, `FROM ${s.from}: expected node:X.Y.Z-bookworm-slim (pinned)`);
      assert.ok(Number(m[1]) >= 22, `FROM ${s.from}: Node ${m[1]} < 22`);
    }
    const runtime = all.at(-1)!;
    const last = (op: string) => runtime.body.filter((i) => i.op === op).at(-1);
    const user = last('USER')!.args.replace(/\$\{(\w+)\}/g, (_m, v: string) => runtime.args.get(v) ?? '');
    assert.match(user, /^[1-9]\d*:[1-9]\d*$/, `USER ${user}: expected numeric non-root uid:gid`);
    assert.equal(runtime.body.at(-2)?.op, 'ENTRYPOINT');
    assert.deepEqual(JSON.parse(last('ENTRYPOINT')!.args), ['lifeboat']);
    assert.deepEqual(runtime.args.get('PG_MAJORS')!.split(' '), ['13', '14', '15', '16', '17', '18']);
    const labels = runtime.body
      .filter((i) => i.op === 'LABEL')
      .map((i) => i.args)
      .join(' ');
    for (const key of ['title', 'version', 'revision', 'created', 'licenses', 'description'])
      assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`), `missing OCI label ${key}`);
    // Each pinned version reaches the install script.
    const installRun = runtime.body.find((i) => i.op === 'RUN' && i.args.includes('image-install.sh'))!;
    for (const arg of [
      'PG_MAJORS',
      'AGE_VERSION',
      'ZSTD_VERSION',
      'SQLITE_VERSION',
      'GZIP_VERSION',
      'LIFEBOAT_UID',
    ])
      assert.match(
        installRun.args,
        new RegExp(`${arg}="\\$\\{${arg}\\}"`),
        `${arg} not passed to image-install.sh`,
      );
  });

  test('every COPY source exists and is in the build context; --from names an earlier stage', async () => {
    const all = stages(instructions(await dockerfile()));
    const ignore = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    let copies = 0;
    all.forEach((stage, i) => {
      for (const ins of stage.body.filter((x) => x.op === 'COPY')) {
        const parts = ins.args.split(/\s+/);
        const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
        const sources = parts.filter((p) => !p.startsWith('--')).slice(0, -1);
        if (from) {
          assert.ok(
            all.slice(0, i).some((s) => s.name === from),
            `COPY --from=${from}: no earlier stage`,
          );
          continue;
        }
        for (const src of sources) {
          copies++;
          assert.ok(
            ignore.some((keep) => src === keep || src.startsWith(`${keep}/`)),
            `COPY ${src}: left out of the build context by .dockerignore`,
          );
        }
      }
    });
    assert.ok(copies >= 5);
    for (const stage of all)
      for (const ins of stage.body.filter((x) => x.op === 'COPY' && !x.args.includes('--from=')))
        for (const src of ins.args.split(/\s+/).slice(0, -1))
          await access(path.join(ROOT, src)).catch(() =>
            assert.fail(`COPY ${src}: no such file in the repository`),
          );
  });

  test('scripts/image-install.sh is executable, parses, and resolves its pinned Debian packages', async (t) => {
    const script = path.join(ROOT, 'scripts/image-install.sh');
    await access(script, constants.X_OK);
    await run('bash', ['-n', script]);
    const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
    if (!/VERSION_CODENAME=bookworm/.test(osRelease)) {
      t.skip('not Debian bookworm: apt cannot resolve the image packages here');
      return;
    }
    const simulate = (env: NodeJS.ProcessEnv) =>
      run(script, [], { env: { ...process.env, IMAGE_INSTALL_SIMULATE: '1', ...env } });
    const ok = await simulate({});
    assert.match(ok.stdout, /Debian packages resolve/);
    // A pin apt cannot satisfy fails the install (so the check above can fail).
    await assert.rejects(simulate({ AGE_VERSION: '9.*' }), /Version '9\.\*' for 'age' was not found/);
    await assert.rejects(simulate({ PG_MAJORS: '12 17' }), /12 is not a supported major/);
  });
});
