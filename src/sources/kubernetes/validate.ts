/**
 * What a drill proves about a namespace's YAML stream without a cluster: every document parses,
 * is an object of the namespace it was backed up from, validates against the Kubernetes schema
 * of its kind (the `kubernetes-models` package; kinds it does not know, such as CRDs, are checked
 * for structure only), and the counts per kind match the manifest's. Errors name the object and
 * the schema path, never a value.
 */
import { parseAllDocuments } from 'yaml';
import { LifeboatError } from '../../util/errors.js';
import type { KubeObject } from './clean.js';
import { kindLabel } from './collect.js';

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const API_VERSION = /^([a-z0-9.-]+\/)?v[0-9a-z]+$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

type Validator = ((obj: KubeObject) => void) | null;
const validators = new Map<string, Promise<Validator>>();

/** The kubernetes-models class of a built-in kind, or null for a kind it does not ship (CRDs). */
function validatorFor(apiVersion: string, kind: string): Promise<Validator> {
  const key = `${apiVersion}/${kind}`;
  let v = validators.get(key);
  if (!v) {
    v = import(`kubernetes-models/${apiVersion}/${kind}`).then(
      (mod: Record<string, new (data: unknown) => { validate(): void }>) => {
        const Model = mod[kind];
        return Model ? (obj: KubeObject) => new Model(obj).validate() : null;
      },
      () => null,
    );
    validators.set(key, v);
  }
  return v;
}

/** Parses one namespace's YAML stream into objects; a syntax error is an integrity failure. */
export function parseObjects(text: string, artifact: string): KubeObject[] {
  const docs = parseAllDocuments(text);
  return docs.map((doc, i) => {
    if (doc.errors.length) {
      throw new LifeboatError(
        'integrity',
        `parse ${artifact}: document ${i + 1}: ${doc.errors[0]!.message.split('\n')[0]}`,
      );
    }
    const obj = doc.toJS() as KubeObject | null;
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new LifeboatError('integrity', `parse ${artifact}: document ${i + 1}: not an object`);
    }
    return obj;
  });
}

export async function validateObjects(
  objects: KubeObject[],
  namespace: string,
  artifact: string,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [i, obj] of objects.entries()) {
    const name = obj.metadata?.name;
    const label = `${artifact} document ${i + 1}`;
    if (typeof obj.apiVersion !== 'string' || !API_VERSION.test(obj.apiVersion)) {
      throw new LifeboatError('integrity', `validate ${label}: apiVersion missing or malformed`);
    }
    if (typeof obj.kind !== 'string' || !KIND.test(obj.kind)) {
      throw new LifeboatError('integrity', `validate ${label}: kind missing or malformed`);
    }
    if (typeof name !== 'string' || !NAME.test(name) || name.length > 253) {
      throw new LifeboatError(
        'integrity',
        `validate ${label} (${obj.kind}): metadata.name missing or invalid`,
      );
    }
    if (obj.metadata.namespace !== namespace) {
      throw new LifeboatError(
        'integrity',
        `validate ${namespace}/${obj.kind}/${name}: in namespace ${String(obj.metadata.namespace)}`,
      );
    }
    const validate = await validatorFor(obj.apiVersion, obj.kind);
    try {
      validate?.(obj);
    } catch (err) {
      const detail = err instanceof Error ? err.message.split('\n')[0] : 'invalid';
      throw new LifeboatError('integrity', `validate ${namespace}/${obj.kind}/${name}: ${detail}`);
    }
    counts[kindLabel(obj)] = (counts[kindLabel(obj)] ?? 0) + 1;
  }
  return counts;
}

/** Compares counts per kind with what the manifest recorded; a difference is an integrity failure. */
export function compareCounts(
  namespace: string,
  recorded: Record<string, number>,
  found: Record<string, number>,
): void {
  for (const kind of [...new Set([...Object.keys(recorded), ...Object.keys(found)])].sort()) {
    if ((recorded[kind] ?? 0) !== (found[kind] ?? 0)) {
      throw new LifeboatError(
        'integrity',
        `count ${namespace} ${kind}: ${recorded[kind] ?? 0} in the manifest, ${found[kind] ?? 0} in the backup`,
      );
    }
  }
}
