/** What a kubernetes source records in the manifest, and its part of a backup as restore and drill read it. */
import type { SourceBackup, SourceRecord } from '../../catalog/manifest.js';

export interface KubernetesSourceRecord extends SourceRecord {
  kind: 'kubernetes';
  /** The API server's URL and the kubeconfig context (or `in-cluster`) it was read through. */
  server: string;
  context: string;
  /** From the server's /version, when it answered. */
  serverVersion?: string;
  /** The namespaces backed up (each one artifact's `database`), sorted. */
  databases: string[];
  /** The kinds as resolved by discovery: `v1/ConfigMap`, `apps/v1/Deployment`. */
  kinds: string[];
  labelSelector?: string;
  /** Objects per namespace and kind label (`ConfigMap`, `Deployment.apps`): what a drill counts again. */
  counts: Record<string, Record<string, number>>;
  /** Every object of every namespace. */
  objects: number;
}

export type KubernetesBackup = SourceBackup<KubernetesSourceRecord>;
