/**
 * `lifeboat demo`: the whole loop on a throwaway PostgreSQL — sample data, backup into
 * ./lifeboat-demo, verify, restore into a second database, compare, a restore drill (demo/run.ts) —
 * then how to point Lifeboat at a real database. With --serve it then serves the dashboard and API
 * on localhost until Ctrl-C. Everything but the backups (and the config it wrote) is removed at the end.
 */
import path from 'node:path';
import { totalSize } from '../../catalog/manifest.js';
import { byHandDecode, codecChain } from '../../codecs/chain.js';
import { runDemo, type Demo } from '../../demo/run.js';
import { Context } from '../context.js';
import { parsePort } from '../port.js';
import { formatBytes } from '../progress.js';
import { serveUntilAborted } from '../serving.js';

export interface DemoOptions {
  dir: string;
  /** Serve the dashboard afterwards: true for the default port, or a port. */
  serve?: boolean | string;
}

export async function demoCommand(ctx: Context, opts: DemoOptions, signal: AbortSignal): Promise<number> {
  const out = ctx.output;
  const dir = path.resolve(opts.dir);
  // Checked before the throwaway server starts, so a typo costs nothing.
  const port = typeof opts.serve === 'string' ? parsePort(opts.serve, '--serve') : 8080;
  return runDemo({ dir, env: ctx.env, signal, log: (line) => out.info(line) }, async (demo) => {
    out.result(summary(demo, opts.serve === undefined), {
      ok: true,
      backup: demo.manifest,
      storage: demo.backups,
      config: demo.configFile,
      restoredInto: 'shop_restored',
      identical: demo.identical,
      drill: demo.drill.report,
    });
    if (opts.serve === undefined) return 0;
    out.info(`demo: serving the demo job; Back up and Drill on the dashboard take the token ${demo.token}`);
    out.info('demo: press Ctrl-C to stop (the throwaway server is removed, the backups stay)');
    const serving = new Context({ config: demo.configFile, json: false, logFormat: out.logFormat }, demo.env);
    const historyFile = path.join(dir, 'lifeboat-history.db');
    return serveUntilAborted(serving, { port, host: '127.0.0.1', historyFile }, signal);
  });
}

/** What the demo did, and how to go on: by hand, with a real database, with the dashboard. */
function summary({ manifest, backups, configFile }: Demo, hintServe: boolean): string[] {
  const artifact = manifest.artifacts[0]!;
  const folder = path.join(backups, path.dirname(artifact.key));
  const file = path.basename(artifact.key);
  return [
    `Lifeboat demo: backed up, verified, restored, compared and drilled database "shop" (${formatBytes(totalSize(manifest))}).`,
    '',
    `Backups are in ${backups}; list them with:`,
    `  npx lifeboat list --from ${backups}`,
    `Restore by hand, without Lifeboat:`,
    `  cd ${folder} && sha256sum -c ${file}.sha256 && ${byHandDecode(codecChain(manifest), file)} | psql -v ON_ERROR_STOP=1 -d TARGET_DB`,
    '',
    `To back up a real database, edit ${configFile} (or write your own; see README) and run:`,
    `  DEMO_DATABASE_URL=postgres://user@host:5432/db npx lifeboat --config ${configFile} backup   (password in PGPASSWORD)`,
    `or once, without a config file:`,
    `  npx lifeboat backup --source postgres://user@host:5432/db --to /backups`,
    ...(hintServe
      ? [
          '',
          'To see the dashboard of this demo: npm run demo -- --serve (or npx lifeboat demo --serve [PORT])',
        ]
      : []),
  ];
}
