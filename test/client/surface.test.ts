// What `redex-log/client` (src/client/index.ts) exports at run time is chosen, not accumulated; and a
// closed client refuses further calls with a typed error instead of reopening connections.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as client from '../../src/client/index.js';

describe('redex-log/client', () => {
  test('the run-time exports', () => {
    assert.deepEqual(Object.keys(client).sort(), [
      'ClientErrorCode',
      'RedexClient',
      'RedexClientError',
      'isRetryable',
    ]);
  });

  test('a closed client: CLOSED, outcome none', async () => {
    const redex = new client.RedexClient({ nodes: 'http://127.0.0.1:1' });
    await redex.close();
    await assert.rejects(
      redex.status(),
      (error) =>
        error instanceof client.RedexClientError &&
        error.code === 'CLOSED' &&
        error.outcome === 'none',
    );
  });
});
