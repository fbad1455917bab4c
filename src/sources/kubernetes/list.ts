/**
 * Paginated lists (`limit` + `continue`), as the API conventions ask of clients: a list that takes
 * more pages than the server keeps its snapshot for (410 Gone, "Expired" continue token) starts
 * over from the first page, a bounded number of times.
 */
import { LifeboatError } from '../../util/errors.js';
import { KubeApiError, toLifeboatError, type KubeClient } from './client.js';
import { collectionPath, type ResolvedKind } from './discovery.js';

export const PAGE_SIZE = 250;
const RESTARTS = 3;

export interface ListOptions {
  labelSelector?: string;
  pageSize?: number;
  signal?: AbortSignal;
}

/** Every object of `kind` in `namespace` (items as the server sent them), across pages. */
export async function listAll(
  client: KubeClient,
  kind: Pick<ResolvedKind, 'group' | 'version' | 'resource' | 'kind'>,
  namespace: string | undefined,
  opts: ListOptions = {},
): Promise<Array<Record<string, unknown>>> {
  const where = namespace === undefined ? 'cluster-wide' : `in namespace ${namespace}`;
  const what = `list ${kind.kind} (${kind.resource}) ${where}`;
  for (let attempt = 0; ; attempt++) {
    const items: Array<Record<string, unknown>> = [];
    let cont: string | undefined;
    try {
      do {
        const page = (await client.request('GET', collectionPath(kind, namespace), {
          what,
          signal: opts.signal,
          query: {
            limit: String(opts.pageSize ?? PAGE_SIZE),
            continue: cont,
            labelSelector: opts.labelSelector,
          },
        })) as { items?: Array<Record<string, unknown>>; metadata?: { continue?: string } };
        items.push(...(page.items ?? []));
        cont = page.metadata?.continue || undefined;
      } while (cont);
      return items;
    } catch (err) {
      const expired = err instanceof KubeApiError && err.status.code === 410;
      if (!expired) throw toLifeboatError(err, client.server);
      if (attempt >= RESTARTS) {
        throw new LifeboatError(
          'failed',
          `${what}: continue token expired ${RESTARTS + 1} times (410 Gone)`,
          {
            hint: 'the list changes faster than it can be read; try a labelSelector or a quieter time',
          },
        );
      }
    }
  }
}
