/** Round trip, mode "all": every format × compression restores into a fresh cluster and compares equal. */
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { roundTrip } from './helpers/roundtrip.js';
import { loadRealisticFixture } from './fixtures/realistic.js';

describe('round trip: all', async () => {
  const source = await withCluster({ after }, { name: 'source' });
  await loadRealisticFixture(source);
  for (const format of ['plain', 'custom'] as const) {
    for (const compression of ['zstd', 'gzip', 'none'] as const) {
      test(`${format} + ${compression}`, (t) => roundTrip(t, source, 'all', format, compression));
    }
  }
});
