/**
 * The Kubernetes API, reached as every Kubernetes tool reaches it: the in-cluster service account
 * when running in a pod (and no kubeconfig is named), else `KUBECONFIG` / `~/.kube/config` with an
 * optional `context`. @kubernetes/client-node does the kubeconfig parsing, TLS and credentials
 * (tokens, client certificates, exec plugins); requests are made here so that paths, query and
 * content types are exactly the ones the API conventions ask for, and every failure becomes one
 * LifeboatError line naming the verb, kind and namespace, never a token.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  RequestContext,
  type HttpMethod,
} from '@kubernetes/client-node';
import { LifeboatError, oneLine } from '../../util/errors.js';

const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeStatus {
  code: number;
  reason?: string;
  message?: string;
}

/** A non-2xx answer of the API server, with its Status object. */
export class KubeApiError extends Error {
  constructor(
    readonly status: KubeStatus,
    readonly what: string,
  ) {
    super(`${what}: ${status.code} ${status.reason ?? ''} ${status.message ?? ''}`.trim());
  }
}

export interface KubeRequest {
  query?: Record<string, string | undefined>;
  body?: string;
  contentType?: string;
  /** For messages: "list secrets in namespace app". */
  what: string;
  signal?: AbortSignal;
}

export interface KubeClient {
  /** The server URL (safe to print) and the context used. */
  readonly server: string;
  readonly context: string;
  request(method: HttpMethod, apiPath: string, req: KubeRequest): Promise<unknown>;
}

export function loadKubeConfig(context?: string, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  const home = env.HOME ?? os.homedir();
  const defaultFile = path.join(home, '.kube', 'config');
  try {
    const files = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
    if (files.length) {
      kc.loadFromFile(files[0]!);
      for (const file of files.slice(1)) {
        const more = new KubeConfig();
        more.loadFromFile(file);
        kc.mergeConfig(more);
      }
    } else if (!context && env.KUBERNETES_SERVICE_HOST && existsSync(SA_TOKEN)) kc.loadFromCluster();
    else if (existsSync(defaultFile)) kc.loadFromFile(defaultFile);
    else {
      throw new LifeboatError('config', 'load kubeconfig: none found', {
        hint: 'set KUBECONFIG, create ~/.kube/config, or run in a pod with a service account',
      });
    }
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    throw new LifeboatError('config', `load kubeconfig: ${oneLine(err)}`);
  }
  if (context) {
    if (!kc.getContexts().some((c) => c.name === context)) {
      throw new LifeboatError('config', `load kubeconfig: no context "${context}"`, {
        hint: `contexts: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        }`,
      });
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster())
    throw new LifeboatError('config', 'load kubeconfig: the current context names no cluster');
  return kc;
}

/** The reason phrase for a status an API server answers without a Status body. */
function describe(status: KubeStatus): string {
  const msg = status.message ? `: ${status.message}` : '';
  return `${status.code} ${status.reason ?? ''}${msg}`.replace(/\s+/g, ' ').trim();
}

/** Turns an API error into the one line the user sees; 401/403 say how to fix RBAC. */
export function toLifeboatError(err: unknown, server: string): LifeboatError {
  if (err instanceof LifeboatError) return err;
  if (err instanceof KubeApiError) {
    const { code } = err.status;
    if (code === 401) {
      return new LifeboatError('unreachable', `${err.what}: 401 Unauthorized`, {
        hint: 'the credentials of the kubeconfig context (or service account token) were refused',
      });
    }
    if (code === 403) {
      return new LifeboatError('failed', `${err.what}: 403 Forbidden`, {
        hint: `grant the verb on that kind and namespace to the identity (RBAC): ${err.status.message ?? ''}`.trim(),
      });
    }
    return new LifeboatError(code === 404 ? 'not-found' : 'failed', `${err.what}: ${describe(err.status)}`);
  }
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const detail = cause?.code ?? cause?.message ?? oneLine(err);
  return new LifeboatError('unreachable', `reach Kubernetes API ${server}: ${detail}`, {
    hint: 'check the server address of the kubeconfig context and that the API server is up',
    retryable: true,
  });
}

export function createKubeClient(kc: KubeConfig): KubeClient {
  const cluster = kc.getCurrentCluster()!;
  const server = cluster.server.replace(/\/$/, '');
  const http = new IsomorphicFetchHttpLibrary();
  let dispatcher: ReturnType<RequestContext['getDispatcher']>;
  return {
    server,
    context: kc.getCurrentContext(),
    async request(method, apiPath, req) {
      const url = new URL(server + apiPath);
      for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
      const ctx = new RequestContext(url.toString(), method);
      ctx.setHeaderParam('Accept', 'application/json');
      if (req.body !== undefined) {
        ctx.setHeaderParam('Content-Type', req.contentType ?? 'application/json');
        ctx.setBody(req.body);
      }
      ctx.setSignal(req.signal ?? AbortSignal.timeout(30_000));
      let text: string;
      let code: number;
      try {
        await kc.applySecurityAuthentication(ctx);
        // Headers (tokens may rotate) are set per request, but the TLS connection pool is kept:
        // the library makes a new one each time, a TLS handshake per request.
        dispatcher ??= ctx.getDispatcher();
        if (dispatcher) ctx.setDispatcher(dispatcher);
        const res = await http.send(ctx).toPromise();
        code = res.httpStatusCode;
        text = await res.body.text();
      } catch (err) {
        throw toLifeboatError(err, server);
      }
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      if (code >= 200 && code < 300) {
        if (body === undefined)
          throw new LifeboatError('failed', `${req.what}: the API server answered no JSON`);
        return body;
      }
      const s = body as Partial<KubeStatus> | undefined;
      const status: KubeStatus =
        s && (s as { kind?: string }).kind === 'Status'
          ? { code, reason: s.reason, message: s.message }
          : { code, reason: httpReason(code) };
      throw new KubeApiError(status, req.what);
    },
  };
}

function httpReason(code: number): string {
  const reasons: Record<number, string> = {
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    410: 'Gone',
  };
  return reasons[code] ?? 'error';
}
