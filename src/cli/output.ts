/**
 * Everything the CLI writes: results on stdout (human text or --json), logs on stderr (text or
 * --log-format json), progress on a terminal. Every line goes through the redactor first.
 */
import type { Redactor } from '../util/redact.js';

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A value made safe to print on one line: control characters (C0, DEL, C1) become visible escapes,
 * so a value from the environment, a database name or an error can neither forge extra output
 * lines nor send escape sequences to the terminal. `keepTabs` keeps the tabs that separate the
 * columns of a result line.
 */
export function printable(text: string, opts: { keepTabs?: boolean } = {}): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\t' && opts.keepTabs) return c;
    return NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

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
  private readonly taps = new Set<(line: string) => void>();

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
      // Each element is one line: a newline inside one is a value's, and is shown escaped.
      const lines = (Array.isArray(human) ? human : [human]).map((l) =>
        printable(this.redactor.redact(l), { keepTabs: true }),
      );
      if (lines.length) this.out.write(lines.join('\n') + '\n');
    }
  }

  log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    this.clearProgress();
    const text = this.redactor.redact(message);
    for (const tap of this.taps) tap(`${level === 'info' ? '' : `${level}: `}${printable(text)}`);
    if (this.logFormat === 'json') {
      const line = JSON.stringify({ time: new Date().toISOString(), level, msg: text, ...fields });
      this.err.write(this.redactor.redact(line) + '\n');
    } else {
      this.err.write(`${level === 'info' ? '' : `${level}: `}${printable(text)}\n`);
    }
  }

  /** Hears every log line from now on, redacted and as text (a run's last lines for its ping); returns the unsubscribe. */
  tap(fn: (line: string) => void): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  info = (message: string, fields?: Record<string, unknown>) => this.log('info', message, fields);
  warn = (message: string, fields?: Record<string, unknown>) => this.log('warn', message, fields);

  get interactive(): boolean {
    return Boolean(this.err.isTTY) && this.logFormat === 'text';
  }

  /** Rewrites one status line in place; only on a terminal. */
  progress(text: string): void {
    if (!this.interactive) return;
    this.err.write(`\r\x1b[2K${printable(this.redactor.redact(text))}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (this.progressShown) {
      this.err.write('\r\x1b[2K');
      this.progressShown = false;
    }
  }
}
