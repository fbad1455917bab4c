/**
 * Everything the CLI writes: results on stdout (human text or --json), logs on stderr (text or
 * --log-format json), progress on a terminal. Every line goes through the redactor first.
 */
import type { Redactor } from '../core/redact.js';

export interface OutputOptions {
  json: boolean;
  logFormat: 'text' | 'json';
  redactor: Redactor;
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

export class Output {
  readonly json: boolean;
  readonly logFormat: 'text' | 'json';
  readonly redactor: Redactor;
  private readonly out: NodeJS.WritableStream;
  private readonly err: NodeJS.WritableStream & { isTTY?: boolean };
  private progressShown = false;

  constructor(opts: OutputOptions) {
    this.json = opts.json;
    this.logFormat = opts.logFormat;
    this.redactor = opts.redactor;
    this.out = opts.stdout ?? process.stdout;
    this.err = opts.stderr ?? process.stderr;
  }

  /** A result: `human` lines in text mode, `data` as one JSON document with --json. */
  result(human: string | string[], data: unknown): void {
    if (this.json) this.out.write(this.redactor.redact(JSON.stringify(data, null, 2)) + '\n');
    else {
      const lines = Array.isArray(human) ? human : [human];
      if (lines.length) this.out.write(this.redactor.redact(lines.join('\n')) + '\n');
    }
  }

  log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    this.clearProgress();
    const text = this.redactor.redact(message);
    if (this.logFormat === 'json') {
      const line = JSON.stringify({ time: new Date().toISOString(), level, msg: text, ...fields });
      this.err.write(this.redactor.redact(line) + '\n');
    } else {
      this.err.write(`${level === 'info' ? '' : `${level}: `}${text}\n`);
    }
  }

  info = (message: string, fields?: Record<string, unknown>) => this.log('info', message, fields);
  warn = (message: string, fields?: Record<string, unknown>) => this.log('warn', message, fields);

  get interactive(): boolean {
    return Boolean(this.err.isTTY) && this.logFormat === 'text';
  }

  /** Rewrites one status line in place; only on a terminal. */
  progress(text: string): void {
    if (!this.interactive) return;
    this.err.write(`\r\x1b[2K${this.redactor.redact(text)}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (this.progressShown) {
      this.err.write('\r\x1b[2K');
      this.progressShown = false;
    }
  }
}
