/**
 * Runs an http check (config/http-check.ts): one GET, its status and (optionally) one JSON value
 * judged by the expectation language; with `waitSeconds`, again about every second until it
 * passes or the time is up. Never throws for a failed check: the result says what was expected
 * and what came back (an abort is rethrown, so a stopped drill stays stopped).
 */
import type { CheckResult } from '../catalog/drill-report.js';
import type { HttpCheck } from '../config/http-check.js';
import { checkExpectation, describeExpectation, parseExpectation } from '../config/expectation.js';
import { jsonText, parseJsonPath, valueAt } from '../config/json-path.js';
import { oneLine } from '../util/errors.js';
import { sleep } from '../util/sleep.js';

/** More of a body than a health endpoint's answer is not read. */
const MAX_BODY = 1024 * 1024;

export interface HttpCheckOptions {
  signal?: AbortSignal;
  /** Injectable for tests. */
  fetch?: typeof fetch;
}

/** "HTTP 200", "HTTP 200, $.status = ok". */
export function describeHttpCheck(check: HttpCheck): string {
  const status = `HTTP ${check.expectStatus}`;
  if (!check.json) return status;
  const e = parseExpectation(check.json.expect);
  // A bare value reads as equality here: "$.status = ok", not "$.status ok".
  return `${status}, ${check.json.path} ${e.kind === 'exact' && !e.negate ? `= ${e.value}` : describeExpectation(e)}`;
}

export async function runHttpCheck(
  check: HttpCheck,
  name: string,
  opts: HttpCheckOptions = {},
): Promise<CheckResult> {
  const deadline = Date.now() + check.waitSeconds * 1000;
  for (;;) {
    const result = await once(check, name, opts);
    if (result.ok || Date.now() + 1000 > deadline) return result;
    await sleep(1000, opts.signal);
  }
}

async function once(check: HttpCheck, name: string, opts: HttpCheckOptions): Promise<CheckResult> {
  const expected = describeHttpCheck(check);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('timeout')), check.timeoutSeconds * 1000);
  const onAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await (opts.fetch ?? fetch)(check.url, {
      headers: { accept: 'application/json, */*', 'user-agent': 'lifeboat' },
      signal: controller.signal,
      redirect: 'manual', // the status the endpoint itself answers, as expectStatus names it
    });
    const body = await readCapped(res);
    const status = `HTTP ${res.status}`;
    if (res.status !== check.expectStatus) return { name, ok: false, expected, actual: status };
    if (!check.json) return { name, ok: true, expected, actual: status };
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      return { name, ok: false, expected, actual: `${status}, not JSON` };
    }
    const at = valueAt(doc, parseJsonPath(check.json.path));
    if (!at.found) return { name, ok: false, expected, actual: `${status}, nothing at ${check.json.path}` };
    const value = jsonText(at.value);
    const verdict = checkExpectation(parseExpectation(check.json.expect), value);
    return {
      name,
      ok: verdict.ok,
      expected,
      actual: `${status}, ${check.json.path} ${value === null ? 'is null' : `= ${value}`}`,
      ...(verdict.detail ? { detail: verdict.detail } : {}),
    };
  } catch (err) {
    opts.signal?.throwIfAborted();
    const reason = controller.signal.aborted
      ? `timed out after ${check.timeoutSeconds}s`
      : networkReason(err);
    return { name, ok: false, expected, actual: `error: ${reason}` };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_BODY) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** "ECONNREFUSED" and the like; fetch's own message ("fetch failed") says nothing. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  return typeof cause?.message === 'string' ? oneLine(cause.message) : oneLine(err);
}
