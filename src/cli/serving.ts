/**
 * Runs the service in the foreground for `serve` and `demo --serve`: the config and output of the
 * command's context, started, then stopped on Ctrl-C or SIGTERM (exit 0).
 */
import { createService, type ServiceOptions } from '../service/service.js';
import type { Context } from './context.js';
import { onUnhandledRejection } from './unhandled.js';

type Settings = Pick<ServiceOptions, 'port' | 'host' | 'historyFile' | 'insecureNoToken'>;

export async function serveUntilAborted(
  ctx: Context,
  settings: Settings,
  signal: AbortSignal,
): Promise<number> {
  const service = createService(await ctx.config(), {
    ...settings,
    configPath: ctx.configPath,
    redactor: ctx.redactor,
    log: (line) => ctx.output.info(line),
    warn: (line) => ctx.output.warn(line),
    onUnhandledRejection,
  });
  await service.start(signal);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await service.stop();
  return 0;
}
