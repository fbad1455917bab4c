/**
 * A small Kubernetes API server for the kubernetes-source tests (no real one can run here). It
 * follows the API conventions the source relies on, and refuses what a real API server refuses:
 *
 * - HTTPS with its own CA (the kubeconfig carries it, as a real one does), bearer-token auth;
 *   401/403/404/409/410/415/400 answers are `Status` objects with the real reasons and messages.
 * - Discovery: /api, /api/v1, /apis, /apis/{group}/{version}; a CRD kind (example.com/v1 Widget).
 * - Lists: namespaced and all-namespace, `labelSelector` (=, !=, exists, !exists; bad syntax is a
 *   400), `limit` + `continue`; `expireContinueTokens()` makes the next continue token 410 Gone.
 * - GET one object (404 Status naming it); server-side apply: PATCH with
 *   `application/apply-patch+yaml` only (415 otherwise), `fieldManager` required, `dryRun` only
 *   `All`, `force`; field ownership per manager with 409 conflicts, `managedFields` in the body
 *   refused, a mismatched `resourceVersion`/`uid`/namespace refused, names validated, a missing
 *   namespace is 404; Secret `data` must be base64.
 * - `/version` for anyone (as system:public-info-viewer allows); DELETE of a namespace removes it
 *   and everything in it at once (a real server finalizes in the background).
 * - RBAC: per token, allowed (verb, resource, namespace) rules; everything else is Forbidden with
 *   the real message shape.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface ResourceType {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
}

const RESOURCES: ResourceType[] = [
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true },
  { group: 'example.com', version: 'v1', resource: 'widgets', kind: 'Widget', namespaced: true },
];

/** A rule grants `verbs` on `resources` (or '*') in `namespaces` (or '*', which includes cluster scope). */
export interface Rule {
  verbs: string[];
  resources: string[];
  namespaces?: string[];
}

export interface KubeApiServer {
  url: string;
  /** The CA certificate (PEM) the server's certificate is signed with. */
  ca: string;
  /** Adds a token with its rules (all verbs on everything when omitted). */
  addToken(token: string, user: string, rules?: Rule[]): void;
  /**
   * Writes a kubeconfig for `token` and returns its path: context `context` (default `test`) on
   * this server, `extraContexts` on `extraServer` (another address, e.g. one nothing listens on).
   */
  kubeconfig(
    dir: string,
    token: string,
    opts?: { context?: string; extraContexts?: string[]; extraServer?: string },
  ): string;
  /** Stores an object as if created by `manager` (default kubectl), with server-set fields. */
  put(obj: Obj, manager?: string): void;
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Obj | undefined;
  list(apiVersion: string, kind: string, namespace: string): Obj[];
  /**
   * The next request carrying a continue token answers 410 Gone (as after an etcd compaction);
   * with `times`, that many such requests in a row (Infinity: every one).
   */
  expireContinueTokens(times?: number): void;
  /** Every request: method, path with query, content type. */
  requests: Array<{ method: string; url: string; contentType?: string; body?: string }>;
  close(): Promise<void>;
}

function status(code: number, reason: string, message: string, details?: Obj): Obj {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    details,
    code,
  };
}

class HttpError extends Error {
  constructor(public readonly body: Obj) {
    super(body.message);
  }
}
const fail = (code: number, reason: string, message: string, details?: Obj): never => {
  throw new HttpError(status(code, reason, message, details));
};

function makeCert(): { key: string; cert: string; ca: string; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kube-api-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ext = path.join(dir, 'ext.cnf');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key');
  run('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=test-kube-ca', '-days', '2', '-out', 'ca.crt');
  run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key');
  run('req', '-new', '-key', 'server.key', '-subj', '/CN=kube-apiserver', '-out', 'server.csr');
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    'server.crt',
  );
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return { key: read('server.key'), cert: read('server.crt'), ca: read('ca.crt'), dir };
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Parses a label selector as the API server does; throws a 400 on bad syntax. */
function selectorMatcher(selector: string | null): (labels: Record<string, string>) => boolean {
  if (!selector) return () => true;
  const tests = selector.split(',').map((raw) => {
    const req = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(req))) {
      const [, k, op, v] = m;
      return (l: Record<string, string>) => (op === '!=' ? l[k!] !== v : l[k!] === v);
    }
    if ((m = /^!([\w./-]+)$/.exec(req))) return (l: Record<string, string>) => !(m![1]! in l);
    if ((m = /^([\w./-]+)$/.exec(req))) return (l: Record<string, string>) => m![1]! in l;
    return fail(400, 'BadRequest', `unable to parse requirement: found '${req}', expected: identifier`);
  });
  return (labels) => tests.every((t) => t(labels));
}

/** Leaf paths of an applied configuration: the fields a manager owns after applying it. */
function leaves(o: unknown, prefix: string, out: Map<string, string>): Map<string, string> {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) leaves(v, `${prefix}.${k}`, out);
  } else out.set(prefix, JSON.stringify(o));
  return out;
}

function ownedPaths(obj: Obj): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata') {
      leaves(v.labels ?? {}, '.metadata.labels', out);
      leaves(v.annotations ?? {}, '.metadata.annotations', out);
    } else leaves(v, `.${k}`, out);
  }
  return out;
}

function deepMerge(base: Obj, patch: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object'
        ? deepMerge(out[k], v)
        : v;
  }
  return out;
}

export async function startKubeApiServer(): Promise<KubeApiServer> {
  const tls = makeCert();
  const tokens = new Map<string, { user: string; rules?: Rule[] }>();
  // key group/resource/namespace/name → object; owners: key → manager → owned paths
  const store = new Map<string, Obj>();
  const owners = new Map<string, Map<string, Map<string, string>>>();
  let revision = 1000;
  let epoch = 0; // bumped by a "compaction": continue tokens of older epochs are expired
  let expireNext = 0;
  const requests: KubeApiServer['requests'] = [];

  const typeOf = (apiVersion: string, kind: string) => {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    return RESOURCES.find((r) => r.group === group && r.version === version && r.kind === kind);
  };
  const keyOf = (t: ResourceType, ns: string | undefined, name: string) =>
    `${t.group}/${t.resource}/${t.namespaced ? ns : ''}/${name}`;

  function stamp(obj: Obj, t: ResourceType, existing?: Obj): Obj {
    const meta = obj.metadata;
    meta.uid = existing?.metadata.uid ?? randomUUID();
    meta.resourceVersion = String(++revision);
    meta.creationTimestamp =
      existing?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (t.kind === 'Deployment') {
      meta.generation = (existing?.metadata.generation ?? 0) + 1;
      obj.status = { observedGeneration: meta.generation, replicas: 0 };
    }
    if (t.kind === 'Namespace') obj.status = { phase: 'Active' };
    if (t.kind === 'Secret') obj.type ??= 'Opaque';
    return obj;
  }

  function managedFields(key: string): Obj[] {
    return [...(owners.get(key) ?? new Map()).keys()].map((manager) => ({
      manager,
      operation: manager === 'kubectl' ? 'Update' : 'Apply',
      apiVersion: 'v1',
      fieldsType: 'FieldsV1',
      fieldsV1: {},
    }));
  }

  function validate(t: ResourceType, obj: Obj) {
    const name = obj.metadata?.name;
    if (typeof name !== 'string' || !DNS_SUBDOMAIN.test(name) || name.length > 253) {
      fail(422, 'Invalid', `${t.kind} "${name}" is invalid: metadata.name: Invalid value: "${name}"`, {
        name,
        kind: t.resource,
      });
    }
    if (t.kind === 'Secret') {
      for (const [k, v] of Object.entries(obj.data ?? {})) {
        if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
          fail(
            400,
            'BadRequest',
            `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at key ${k}`,
          );
        }
      }
    }
    if (t.kind === 'ConfigMap') {
      for (const [k, v] of Object.entries(obj.data ?? {})) {
        if (typeof v !== 'string') fail(400, 'BadRequest', `ConfigMap data.${k}: expected string`);
      }
    }
  }

  function put(raw: Obj, manager = 'kubectl') {
    const obj = structuredClone(raw);
    const t = typeOf(obj.apiVersion, obj.kind);
    if (!t) throw new Error(`kube-api-server: no type ${obj.apiVersion} ${obj.kind}`);
    validate(t, obj);
    const key = keyOf(t, obj.metadata.namespace, obj.metadata.name);
    if (t.kind === 'Secret' && obj.stringData) {
      obj.data = { ...obj.data };
      for (const [k, v] of Object.entries(obj.stringData))
        obj.data[k] = Buffer.from(String(v)).toString('base64');
      delete obj.stringData;
    }
    store.set(key, stamp(obj, t, store.get(key)));
    const byManager = owners.get(key) ?? new Map();
    byManager.set(manager, ownedPaths(obj));
    owners.set(key, byManager);
  }

  function render(key: string): Obj {
    const obj = structuredClone(store.get(key)!);
    obj.metadata.managedFields = managedFields(key);
    return obj;
  }

  function authorize(token: string | undefined, verb: string, t: ResourceType, ns: string | undefined) {
    const entry = token === undefined ? undefined : tokens.get(token);
    if (!entry) fail(401, 'Unauthorized', 'Unauthorized');
    const rules = entry!.rules;
    const allowed =
      !rules ||
      rules.some(
        (r) =>
          (r.verbs.includes(verb) || r.verbs.includes('*')) &&
          (r.resources.includes(t.resource) || r.resources.includes('*')) &&
          (!r.namespaces || r.namespaces.includes('*') || (ns !== undefined && r.namespaces.includes(ns))),
      );
    if (allowed) return;
    const where = ns === undefined ? 'at the cluster scope' : `in the namespace "${ns}"`;
    const what = verb === 'patch' || verb === 'get' ? `${t.resource} "…"` : t.resource;
    fail(
      403,
      'Forbidden',
      `${what} is forbidden: User "${entry!.user}" cannot ${verb} resource "${t.resource}" in API group "${t.group}" ${where}`,
      { kind: t.resource, group: t.group },
    );
  }

  function discovery(p: string): Obj | undefined {
    if (p === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    const groups = [...new Set(RESOURCES.filter((r) => r.group).map((r) => `${r.group}/${r.version}`))];
    if (p === '/apis') {
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: groups.map((gv) => {
          const [name, version] = gv.split('/');
          const v = { groupVersion: gv, version };
          return { name, versions: [v], preferredVersion: v };
        }),
      };
    }
    const gv = p === '/api/v1' ? 'v1' : p.startsWith('/apis/') ? p.slice('/apis/'.length) : undefined;
    if (gv === undefined || (gv !== 'v1' && !groups.includes(gv))) return undefined;
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: gv,
      resources: RESOURCES.filter((r) => (r.group ? `${r.group}/${r.version}` : r.version) === gv).map(
        (r) => ({
          name: r.resource,
          singularName: r.kind.toLowerCase(),
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        }),
      ),
    };
  }

  function list(t: ResourceType, ns: string | undefined, q: URLSearchParams): Obj {
    const match = selectorMatcher(q.get('labelSelector'));
    const limitRaw = q.get('limit');
    const limit = limitRaw === null ? 0 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 0)
      fail(400, 'BadRequest', `invalid value for limit: ${limitRaw}`);
    let after = '';
    let rv = revision;
    const cont = q.get('continue');
    if (cont) {
      let token: { rv: number; after: string; epoch: number };
      try {
        token = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8'));
      } catch {
        return fail(400, 'BadRequest', 'continue key is not valid: illegal base64 data at input byte 0');
      }
      if (expireNext > 0) {
        expireNext--;
        epoch++;
      }
      if (token.epoch < epoch) {
        fail(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      after = token.after;
      rv = token.rv;
    }
    const prefix = `${t.group}/${t.resource}/`;
    const keys = [...store.keys()]
      .filter((k) => k.startsWith(prefix) && (ns === undefined || k.startsWith(`${prefix}${ns}/`)))
      .filter((k) => k.slice(prefix.length) > after)
      .sort()
      .filter((k) => match(store.get(k)!.metadata.labels ?? {}));
    const page = limit > 0 ? keys.slice(0, limit) : keys;
    const more = limit > 0 && keys.length > limit;
    const last = page.at(-1)?.slice(prefix.length) ?? '';
    return {
      kind: `${t.kind}List`,
      apiVersion: t.group ? `${t.group}/${t.version}` : t.version,
      metadata: {
        resourceVersion: String(rv),
        ...(more && {
          continue: Buffer.from(JSON.stringify({ rv, after: last, epoch })).toString('base64url'),
          remainingItemCount: keys.length - limit,
        }),
      },
      items: page.map((k) => {
        const o = render(k);
        delete o.apiVersion; // real lists omit the per-item apiVersion/kind
        delete o.kind;
        return o;
      }),
    };
  }

  function apply(
    t: ResourceType,
    ns: string | undefined,
    name: string,
    q: URLSearchParams,
    ct: string,
    body: string,
  ) {
    if (!ct.startsWith('application/apply-patch+yaml')) {
      fail(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
      );
    }
    const manager = q.get('fieldManager');
    if (!manager) {
      fail(
        422,
        'Invalid',
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    }
    const dryRun = q.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All')) {
      fail(400, 'BadRequest', `Invalid value: ${JSON.stringify(dryRun)}: supported values: "All"`);
    }
    const force = q.get('force') === 'true';
    let obj: Obj;
    try {
      obj = parseYaml(body) as Obj;
    } catch (e) {
      return fail(400, 'BadRequest', `error decoding YAML: ${(e as Error).message}`);
    }
    if (!obj || typeof obj !== 'object' || !obj.metadata) fail(400, 'BadRequest', 'Object has no metadata');
    const apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
    if (obj.apiVersion !== apiVersion || obj.kind !== t.kind) {
      fail(
        400,
        'BadRequest',
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion})`,
      );
    }
    if (obj.metadata.name !== name)
      fail(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    if (t.namespaced && obj.metadata.namespace !== undefined && obj.metadata.namespace !== ns) {
      fail(
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    if (obj.metadata.managedFields != null) fail(400, 'BadRequest', 'metadata.managedFields must be nil');
    if (t.namespaced && !store.has(`/namespaces//${ns}`)) {
      fail(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    }
    validate(t, obj);
    const key = keyOf(t, ns, name);
    const existing = store.get(key);
    if (
      existing &&
      obj.metadata.resourceVersion !== undefined &&
      obj.metadata.resourceVersion !== existing.metadata.resourceVersion
    ) {
      fail(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${t.resource} "${name}": the object has been modified`,
      );
    }
    if (!existing && obj.metadata.resourceVersion !== undefined) {
      fail(409, 'Conflict', `resourceVersion can not be set for Create requests`);
    }
    if (existing && obj.metadata.uid !== undefined && obj.metadata.uid !== existing.metadata.uid) {
      fail(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${existing.metadata.uid}`,
      );
    }
    const mine = ownedPaths(obj);
    const byManager = owners.get(key) ?? new Map<string, Map<string, string>>();
    if (existing && !force) {
      const current = ownedPaths(existing);
      const conflicts: string[] = [];
      for (const [other, paths] of byManager) {
        if (other === manager) continue;
        for (const p of paths.keys())
          if (mine.has(p) && current.get(p) !== mine.get(p)) conflicts.push(`conflict with "${other}": ${p}`);
      }
      if (conflicts.length) {
        fail(
          409,
          'Conflict',
          `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.join(', ')}`,
        );
      }
    }
    obj.metadata.namespace = t.namespaced ? ns : undefined;
    const merged = stamp(
      existing ? deepMerge(structuredClone(existing), obj) : structuredClone(obj),
      t,
      existing,
    );
    if (dryRun.length) {
      const out = structuredClone(merged);
      if (!existing) revision--; // a dry run consumes nothing
      return { code: existing ? 200 : 201, body: out };
    }
    store.set(key, merged);
    if (force) for (const paths of byManager.values()) for (const p of mine.keys()) paths.delete(p);
    byManager.set(manager!, mine);
    owners.set(key, byManager);
    return { code: existing ? 200 : 201, body: render(key) };
  }

  function route(req: { method: string; url: URL; token?: string; ct: string; body: string }): {
    code: number;
    body: Obj;
  } {
    const p = req.url.pathname.replace(/\/$/, '');
    const q = req.url.searchParams;
    // Readable by anyone, as the system:public-info-viewer role makes it on a real server.
    if (req.method === 'GET' && p === '/version')
      return { code: 200, body: { major: '1', minor: '31', gitVersion: 'v1.31.0-lifeboat-test' } };
    const disc = req.method === 'GET' ? discovery(p) : undefined;
    if (disc) {
      if (!req.token || !tokens.has(req.token)) fail(401, 'Unauthorized', 'Unauthorized');
      return { code: 200, body: disc };
    }
    // /api/v1/… or /apis/{group}/{version}/…
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(\/.*)$/.exec(p);
    if (!m) return fail(404, 'NotFound', 'the server could not find the requested resource');
    const group = m[2] ?? '';
    const version = m[1] ?? m[3]!;
    const parts = m[4]!.split('/').filter(Boolean);
    let ns: string | undefined;
    if (parts[0] === 'namespaces' && parts.length >= 3) {
      ns = parts[1];
      parts.splice(0, 2);
    }
    const t = RESOURCES.find((r) => r.group === group && r.version === version && r.resource === parts[0]);
    if (!t || parts.length > 2 || (ns !== undefined && !t.namespaced)) {
      return fail(404, 'NotFound', 'the server could not find the requested resource');
    }
    const name = parts[1];
    if (name === undefined && req.method === 'GET') {
      authorize(req.token, 'list', t, ns);
      return { code: 200, body: list(t, ns, q) };
    }
    if (name !== undefined && req.method === 'GET') {
      authorize(req.token, 'get', t, t.namespaced ? ns : undefined);
      const key = keyOf(t, ns, name);
      if (!store.has(key))
        fail(404, 'NotFound', `${t.resource} "${name}" not found`, { name, kind: t.resource });
      return { code: 200, body: render(key) };
    }
    if (name !== undefined && req.method === 'PATCH') {
      authorize(req.token, 'patch', t, t.namespaced ? ns : undefined);
      return apply(t, ns, name, q, req.ct, req.body);
    }
    if (name !== undefined && req.method === 'DELETE' && t.kind === 'Namespace') {
      authorize(req.token, 'delete', t, undefined);
      const key = keyOf(t, undefined, name);
      if (!store.has(key))
        fail(404, 'NotFound', `${t.resource} "${name}" not found`, { name, kind: t.resource });
      // A real server marks it Terminating and removes its objects in the background; here, at once.
      const body = render(key);
      body.status = { phase: 'Terminating' };
      for (const k of [...store.keys()])
        if (k === key || k.split('/')[2] === name) {
          store.delete(k);
          owners.delete(k);
        }
      return { code: 200, body };
    }
    return fail(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  }

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const auth = req.headers.authorization;
      const ct = req.headers['content-type'] ?? '';
      requests.push({
        method: req.method!,
        url: req.url!,
        contentType: ct || undefined,
        body: body || undefined,
      });
      let out: { code: number; body: Obj };
      try {
        out = route({
          method: req.method!,
          url: new URL(req.url!, 'https://x'),
          token: auth?.startsWith('Bearer ') ? auth.slice(7) : undefined,
          ct,
          body,
        });
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        out = { code: e.body.code, body: e.body };
      }
      res.writeHead(out.code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    ca: tls.ca,
    requests,
    addToken(token, user, rules) {
      tokens.set(token, { user, rules });
    },
    kubeconfig(dir, token, opts = {}) {
      const context = opts.context ?? 'test';
      const file = path.join(dir, `kubeconfig-${context}`);
      const ctxs = [context, ...(opts.extraContexts ?? [])];
      const yaml = [
        'apiVersion: v1',
        'kind: Config',
        `current-context: ${context}`,
        'clusters:',
        `- name: test`,
        `  cluster: { server: "${url}", certificate-authority-data: ${Buffer.from(tls.ca).toString('base64')} }`,
        `- name: elsewhere`,
        `  cluster: { server: "${opts.extraServer ?? 'https://127.0.0.1:9'}", certificate-authority-data: ${Buffer.from(tls.ca).toString('base64')} }`,
        'users:',
        `- name: test`,
        `  user: { token: "${token}" }`,
        'contexts:',
        ...ctxs.map(
          (c, i) => `- name: ${c}\n  context: { cluster: ${i === 0 ? 'test' : 'elsewhere'}, user: test }`,
        ),
        '',
      ].join('\n');
      writeFileSync(file, yaml, { mode: 0o600 });
      return file;
    },
    put,
    get(apiVersion, kind, namespace, name) {
      const t = typeOf(apiVersion, kind);
      const key = t && keyOf(t, namespace, name);
      return key && store.has(key) ? render(key) : undefined;
    },
    list(apiVersion, kind, namespace) {
      const t = typeOf(apiVersion, kind);
      if (!t) return [];
      const prefix = `${t.group}/${t.resource}/${namespace}/`;
      return [...store.keys()]
        .filter((k) => k.startsWith(prefix))
        .sort()
        .map(render);
    },
    expireContinueTokens(times = 1) {
      expireNext = times;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(tls.dir, { recursive: true, force: true });
    },
  };
}
