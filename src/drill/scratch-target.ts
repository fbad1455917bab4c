/**
 * What a drill restores into: a scratch PostgreSQL server, of one of two kinds (a local throwaway
 * cluster, scratch-local.ts, or a configured server, scratch-server.ts); scratch.ts picks the kind.
 * The interface sits with the source kinds (sources/drill-scratch.ts), whose drills receive one.
 */
export type { Scratch } from '../sources/drill-scratch.js';
