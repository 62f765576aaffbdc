/** The retrieval table: scaled ranges, and a row that says which side was sparse and how dense each one was. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type RetrievalRow,
  retrievalTableHeader,
  retrievalTableRow,
  scaledTopK,
} from '../../../../main/cli/eval/retrieval.ts';

const row = (over: Partial<RetrievalRow>): RetrievalRow => ({
  length: 2048,
  mode: 'plas-gate',
  promptTokens: 2020,
  correct: 19,
  samples: 20,
  accuracy: 0.95,
  byDepth: [],
  perSample: '11111111111111110111',
  density: 0.259,
  sparseLayerDensity: 0.259,
  prefillDensity: 0.179,
  decodeDensity: 1,
  topK: { encoder: { left: 1, right: 1, limit: 32 }, decoder: { left: 1, right: 1, limit: 2048 } },
  gate: 'learned gate on layers 0-3',
  seconds: 240,
  ...over,
});

describe('retrieval table', () => {
  it('scales top-k with the blocks of a length, never below one block', () => {
    assert.deepEqual(scaledTopK(2048, 32, [0.015, 0.015]), { left: 1, right: 1, limit: 32 });
    assert.deepEqual(scaledTopK(2048, 32, [0.05, 0.1]), { left: 4, right: 7, limit: 128 });
    assert.deepEqual(scaledTopK(100, 64, [0.001, 0.001]), { left: 1, right: 1, limit: 64 });
  });

  it('prints prefill and decode density, and a side whose limit covers the length as dense', () => {
    const line = retrievalTableRow(row({}));
    assert.match(line, /95\.0%\s+19\/20\s+0\.259\s+0\.259\s+\(0\.179, 1\.000\)\s+1 \/ dense\s+240$/);
    const sparse = retrievalTableRow(
      row({ topK: { encoder: { left: 1, right: 2, limit: 32 }, decoder: { left: 8, right: 8, limit: 256 } } }),
    );
    assert.match(sparse, /\s1-2 \/ 8\s+240$/);
    assert.match(retrievalTableRow(row({ mode: 'dense', topK: null })), /\s-\s+240$/);
    // Every column of the header sits over its values: the row ends where the header does.
    assert.equal(line.length, retrievalTableHeader().length);
  });
});
