/** The API client for a source's (or a restore's) kubeconfig file and context. */
import { createKubeClient, loadKubeConfig, type KubeClient } from './client.js';

export interface ClusterAccess {
  /** A kubeconfig file; else KUBECONFIG, ~/.kube/config or the pod's service account. */
  kubeconfig?: string;
  context?: string;
}

export function clusterClient(access: ClusterAccess, env: NodeJS.ProcessEnv = process.env): KubeClient {
  const kubeEnv = access.kubeconfig ? { ...env, KUBECONFIG: access.kubeconfig } : env;
  return createKubeClient(loadKubeConfig(access.context, kubeEnv));
}
