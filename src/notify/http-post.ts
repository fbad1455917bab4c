/**
 * POSTs one alert (JSON) or ping (text) with a short timeout. Webhook URLs often carry their secret in the path
 * (Slack's do), so no error from here ever contains the URL: only the target's name, which
 * build.ts makes from its position and host.
 */
import { LifeboatError, oneLine } from '../util/errors.js';

export interface PostOptions {
  /** Names the target in errors, e.g. "webhook #1 (hooks.example.com)". */
  name: string;
  timeoutMs: number;
  /** What failed, in errors: "send alert" (the default) or "ping start". */
  action?: string;
  signal?: AbortSignal;
  /** Injectable for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export function postJson(url: string, body: unknown, opts: PostOptions): Promise<void> {
  return post(url, 'application/json', JSON.stringify(body), opts);
}

/** A POST of plain text (a ping's log lines). */
export function postText(url: string, text: string, opts: PostOptions): Promise<void> {
  return post(url, 'text/plain; charset=utf-8', text, opts);
}

async function post(url: string, contentType: string, body: string, opts: PostOptions): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('timeout')), opts.timeoutMs);
  const onAbort = () => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await (opts.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': contentType, 'user-agent': 'lifeboat' },
      body,
      signal: controller.signal,
      redirect: 'error', // a redirect would resend the alert somewhere the config never named
    });
    // Read the body either way so the connection is released; Slack explains refusals in it.
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      const said = oneLine(text).slice(0, 100);
      throw new LifeboatError(
        'unreachable',
        `${opts.action ?? 'send alert'} via ${opts.name}: HTTP ${res.status}${said ? ` ${said}` : ''}`,
        {
          retryable: res.status >= 500 || res.status === 429,
        },
      );
    }
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    const reason = controller.signal.aborted
      ? opts.signal?.aborted
        ? 'aborted'
        : `timed out after ${opts.timeoutMs} ms`
      : networkReason(err);
    throw new LifeboatError('unreachable', `${opts.action ?? 'send alert'} via ${opts.name}: ${reason}`, {
      retryable: true,
    });
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** "ECONNREFUSED" and the like; fetch's own message ("fetch failed") says nothing. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  // Never the raw message of an unknown error: it might quote the URL.
  return 'request failed';
}
