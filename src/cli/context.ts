/**
 * What every command gets: parsed global options, the output, the redactor, and lazy access to the
 * configuration. Building the context is cheap; the config is read only by commands that need it.
 */
import type { Config, JobConfig } from '../config/schema.js';
import { buildStorages, readableStorageFromArg } from '../config/compose.js';
import { LifeboatError } from '../util/errors.js';
import { Redactor } from '../util/redact.js';
import type { Storage } from '../storages/storage.js';
import { Output } from './output.js';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  logFormat?: string;
}

export class Context {
  readonly output: Output;
  readonly redactor = new Redactor();
  readonly configPath: string;
  private readonly explicitConfig: boolean;
  private loaded?: Promise<Config>;

  constructor(
    opts: GlobalOptions,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    if (opts.logFormat && opts.logFormat !== 'text' && opts.logFormat !== 'json') {
      throw new LifeboatError('usage', `--log-format: expected text or json`);
    }
    this.output = new Output({
      json: Boolean(opts.json),
      logFormat: (opts.logFormat as 'text' | 'json') ?? 'text',
      redactor: this.redactor,
    });
    this.explicitConfig = Boolean(opts.config ?? env.LIFEBOAT_CONFIG);
    this.configPath = opts.config ?? env.LIFEBOAT_CONFIG ?? 'lifeboat.yaml';
  }

  config(): Promise<Config> {
    // Loaded on demand: the YAML parser and the schema cost start-up time that config-free
    // commands (a one-off backup, a restore from a directory) need not pay.
    this.loaded ??= import('../config/load.js').then((m) =>
      m.loadConfig(this.configPath, this.env, this.redactor),
    );
    return this.loaded;
  }

  /** The config when one was named or ./lifeboat.yaml exists; undefined for config-free use. */
  async optionalConfig(): Promise<Config | undefined> {
    try {
      return await this.config();
    } catch (err) {
      if (!this.explicitConfig && err instanceof LifeboatError && /no such file/.test(err.message))
        return undefined;
      throw err;
    }
  }

  job(config: Config, name: string): JobConfig {
    const job = config.jobs[name];
    if (!job) {
      throw new LifeboatError(
        'usage',
        `find job "${name}": not in ${this.configPath} (jobs: ${Object.keys(config.jobs).join(', ') || 'none'})`,
      );
    }
    return job;
  }

  /**
   * Where list/verify/restore read from: --from (a storage name, directory or s3:// URL), else the
   * named job's storages in their configured order, else every storage of the config (those the
   * jobs use first, in the jobs' order).
   */
  async readStorages(
    from: string | undefined,
    jobName?: string,
  ): Promise<{ storages: Storage[]; config?: Config }> {
    const config = from ? await this.optionalConfig() : await this.config();
    if (from) return { storages: [await readableStorageFromArg(from, config)], config };
    const built = buildStorages(config!);
    const names = jobName
      ? this.job(config!, jobName).storages
      : [...new Set([...Object.values(config!.jobs).flatMap((j) => j.storages), ...Object.keys(built)])];
    if (!names.length)
      throw new LifeboatError('usage', `choose a storage: ${this.configPath} has none`, {
        hint: 'add --from STORAGE (a directory or s3://bucket/prefix)',
      });
    return { storages: names.map((n) => built[n]!), config };
  }
}
