/** `plas bench serve --url`: the serve load over HTTP against a running server gives a row per concurrency level. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { benchServeHttp, httpTableRow } from '../../../../main/cli/bench/serve-http.ts';
import { startV1Server, type V1Server } from './helpers.ts';

let s: V1Server;
before(async () => {
  s = await startV1Server();
});
after(() => s?.stop());

it('measures output tok/s, TTFT and TPOT over streamed completions', async () => {
  const rows = await benchServeHttp({ url: `${s.url}/v1`, concurrency: [1, 3], promptTokens: 16, maxTokens: 4 });
  assert.deepEqual(
    rows.map((r) => r.concurrency),
    [1, 3],
  );
  for (const r of rows) {
    assert.equal(r.outputTokens, 4 * r.concurrency);
    assert.ok(r.outputTokensPerSecond > 0);
    assert.ok(r.ttftMsP50 > 0 && r.ttftMsP99 >= r.ttftMsP50);
    assert.ok(r.tpotMsP50 > 0);
    assert.match(httpTableRow(r), /ms/);
  }
});
