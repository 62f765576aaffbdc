/**
 * The Tuning page in a real browser against the real server (PLAS Mini on SwiftShader): PLAS sliders applied live
 * and read back from the engine (GET /api/plas), a refused value snapping back with the server's message, the A/B of
 * one prompt dense vs PLAS with both speeds, densities, outputs and the first difference, and the next PLAS reply's
 * decode density falling after the decode top-k is lowered; the per-layer heatmap and the speed chart after requests;
 * the empty and the no-model states; no console error (CSP included) and no serious axe violation, light and dark.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { DEFAULT_MODEL_DIR } from '../../main/cli/default-model.ts';
import { bearer, http, startTestServer, TEST_ENGINE, type TestServer } from '../main/server/server-fixture.ts';
import { axeViolations, describeViolations, launchChromium, screenshot, watchErrors } from './browser.ts';

let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[];

/**
 * About 400 tokens of PLAS Mini's tokenizer: 13 blocks of 32, so a decode top-k of a few blocks is sparse (PLAS Mini's
 * own decode limit, 16 blocks x 32 tokens, keeps this prompt and its reply dense).
 */
const PASSAGE =
  'In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters. And God said, Let there be light: and there was light. And God saw the light, that it was good: and God divided the light from the darkness. And God called the light Day, and the darkness he called Night. And the evening and the morning were the first day. ';
const PROMPT = `${PASSAGE.repeat(3)}\nWhat did God call the light?`;

const plasNow = async () =>
  (await http(server.port, '/api/plas', { headers: bearer(server.token) })).json() as Promise<{
    backend: string;
    config: Record<string, number | boolean | string>;
  }>;
const text = async (l: Locator) => (await l.textContent())?.trim() ?? '';

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The whole page: the app scrolls inside <main>, so the viewport grows to its content for the picture. */
async function fullScreenshot(name: string): Promise<void> {
  const height = (await page.evaluate("document.querySelector('main').scrollHeight")) as number;
  await page.setViewportSize({ width: 1100, height: height + 60 });
  await screenshot(page, name);
  await page.setViewportSize({ width: 1100, height: 760 });
}

async function assertAccessible() {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, describeViolations(violations));
}

before(async () => {
  // Every step's PLAS counts are read back (the server's default is one step in 16), so a reply of a dozen tokens
  // always has a measured decode density.
  const engine = { ...TEST_ENGINE, attention: { statsSampleEvery: 1 } };
  const [s, b] = await Promise.all([startTestServer({ model: DEFAULT_MODEL_DIR, engine }), launchChromium()]);
  server = s;
  browser = b;
  await server.ready;
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  page = await context.newPage();
  errors = watchErrors(page);
  const response = await page.goto(`${server.url}/tuning?token=${server.token}`);
  assert.equal(response?.status(), 200);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Runs the A/B and returns what each side shows. */
async function runAb(): Promise<Record<'dense' | 'plas', Record<string, string>>> {
  await page.getByRole('button', { name: 'Run A/B' }).click();
  await page.getByRole('button', { name: 'Stop' }).waitFor();
  await page.getByRole('button', { name: 'Run A/B' }).waitFor({ timeout: 120_000 });
  const out = {} as Record<'dense' | 'plas', Record<string, string>>;
  for (const side of ['dense', 'plas'] as const) {
    const el = page.locator(`[data-side="${side}"]`);
    out[side] = {
      tps: await text(el.locator('[data-stat="tps"]')),
      ttft: await text(el.locator('[data-stat="ttft"]')),
      prefill: await text(el.locator('[data-stat="prefill"]')),
      decode: await text(el.locator('[data-stat="decode"]')),
      tokens: await text(el.locator('[data-stat="tokens"]')),
      output: await text(el.getByTestId('ab-output')),
    };
  }
  return out;
}

test('the page shows the engine’s PLAS settings with units, and the empty state before any request', async () => {
  await page.getByRole('heading', { name: 'Tuning' }).waitFor();
  const left = page.getByLabel('Decode top-k, at least');
  await left.waitFor();
  const config = (await plasNow()).config;
  assert.equal(config.plas_block_size, 32, 'PLAS Mini’s gate fixes blocks of 32 tokens');
  assert.equal(
    await text(page.locator('output[data-key="plas_decoder_top_k_left"]')),
    `${config.plas_decoder_top_k_left} blocks`,
  );
  assert.match(await text(page.locator('output[data-key="plas_use_decoder_seq_limit"]')), /^[\d,]+ tokens$/);
  // PLAS Mini's recommended config (plas_config.json) keeps 1 block per prompt query: singular.
  assert.equal(config.plas_encoder_top_k_left, 1);
  assert.equal(await text(page.locator('output[data-key="plas_encoder_top_k_left"]')), '1 block');
  assert.equal(await text(page.getByTestId('block-size')), '32 tokens');
  // The slider's maximum is the model's context in blocks (8,192 / 32), or the value in force when larger.
  assert.equal(await page.getByLabel('Prefill top-k, at least').getAttribute('max'), '256');
  await page.getByTestId('recent-empty').waitFor();
  assert.match(await text(page.getByTestId('recent-empty')), /No requests yet: send a chat message or run the A\/B/);
  // PLAS Mini is bundled: its gate section says how to train a copy, and offers no button the server would refuse.
  assert.match(await text(page.locator('[data-state="bundled"]')), /comes with the app .* copy its folder/s);
  assert.equal(await page.getByRole('button', { name: /^Train the gate of/ }).count(), 0);
  assert.deepEqual(errors, []);
  await assertAccessible();
  await fullScreenshot('tuning');
});

test('sliders apply live, read back from the engine; a refused value shows why and snaps back', async () => {
  await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill(PROMPT);
  await page.getByLabel('Tokens to generate').fill('16');
  const before = await runAb();
  assert.equal(
    before.plas.decode,
    '100%',
    `at the model's defaults a prompt under 512 tokens decodes densely: ${JSON.stringify(before)}`,
  );
  assert.match(await text(page.getByTestId('ab-difference')), /identical/);

  // Lower the decode range: at least 2 blocks (keyboard), at most 3 (fill, as a drag ends).
  const left = page.getByLabel('Decode top-k, at least');
  await left.focus();
  await page.keyboard.press('Home'); // 1 block
  await page.keyboard.press('ArrowRight'); // 2 blocks
  await page.locator('output[data-key="plas_decoder_top_k_left"]').getByText('2 blocks').waitFor();
  await page.getByLabel('Decode top-k, at most').fill('3');
  await page.locator('output[data-key="plas_decoder_top_k_right"]').getByText('3 blocks').waitFor();
  let config = (await plasNow()).config;
  assert.equal(config.plas_decoder_top_k_left, 2, 'the engine runs what the slider shows');
  assert.equal(config.plas_decoder_top_k_right, 3);
  assert.equal(config.plas_use_decoder_seq_limit, 64, 'the dense limit follows left x block size');
  assert.match(await text(page.locator('output[data-key="plas_use_decoder_seq_limit"]')), /^64 tokens$/);

  // At least 5 > at most 3: the engine refuses it, the page says so and shows the engine's value.
  const leftInput = page.getByLabel('Decode top-k, at least');
  await leftInput.fill('5');
  await page
    .getByText(/Not applied: plas_decoder_top_k_left \(5\) must be <= plas_decoder_top_k_right \(3\)/)
    .waitFor();
  await until(async () => (await leftInput.inputValue()) === '2', 'the slider snaps back to 2');
  config = (await plasNow()).config;
  assert.equal(config.plas_decoder_top_k_left, 2);
  // The browser logs the refused PATCH's 400 itself: that one is expected.
  assert.deepEqual(errors.splice(0), [
    'console: Failed to load resource: the server responded with a status of 400 (Bad Request)',
  ]);

  // Twice: the first sparse run also compiles the PLAS kernels' pipelines; the second is the figure to report.
  await runAb();
  const afterChange = await runAb();
  const pct = (s: string) => Number.parseInt(s, 10);
  assert.ok(
    pct(afterChange.plas.decode) < pct(before.plas.decode),
    `decode density falls after lowering the decode top-k: ${before.plas.decode} -> ${afterChange.plas.decode}`,
  );
  assert.equal(afterChange.dense.decode, '100%');
  for (const side of ['dense', 'plas'] as const) {
    assert.match(afterChange[side].tps, /^\d+\.\d tok\/s$/);
    assert.match(afterChange[side].ttft, /^\d+ ms$/);
    assert.notEqual(afterChange[side].output, '');
  }
  assert.match(await text(page.getByTestId('ab-difference')), /identical|first differ at character \d+/);
  console.log(
    `A/B on PLAS Mini (SwiftShader), prompt ${afterChange.dense.tokens}: dense ${afterChange.dense.tps}, TTFT ${afterChange.dense.ttft}, decode density ${afterChange.dense.decode}; PLAS ${afterChange.plas.tps}, TTFT ${afterChange.plas.ttft}, decode density ${afterChange.plas.decode} (decode top-k 2-3 blocks)`,
  );
  assert.deepEqual(errors, []);
  await assertAccessible();
  await fullScreenshot('tuning-ab');
});

test('the heatmap and the speed chart draw the recent requests', async () => {
  const heatmap = page.getByRole('img', { name: /Per-layer decode density of the last \d+ requests/ });
  await heatmap.waitFor();
  const columns = Number((await text(page.getByTestId('recent-summary'))).match(/^(\d+) requests?/)?.[1]);
  assert.ok(columns >= 6, 'the three A/B runs, dense and PLAS each, are there');
  assert.equal(await heatmap.locator('rect[rx="3"]').count(), columns * 4, 'a cell per request and layer (4 layers)');
  // The newest column is the sparse PLAS run: some cell of it is below 100%.
  await page.getByText('Show these numbers as a table').first().click();
  const lastColumn = await page
    .locator('table')
    .first()
    .locator('tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.lastElementChild?.textContent ?? ''));
  assert.ok(
    lastColumn.some((cell) => /^\d+%$/.test(cell) && Number.parseInt(cell, 10) < 100),
    lastColumn.join(' '),
  );
  assert.equal(await page.locator('.uplot canvas').count(), 1, 'uPlot drew the speed chart');
  assert.deepEqual(errors, [], 'uPlot runs under the CSP');
});

test('PLAS on/off, reset to the model’s defaults, and dark theme', async () => {
  const plasOn = page.getByRole('checkbox', { name: 'PLAS sparse attention' });
  assert.equal(await plasOn.isChecked(), false, 'the test server starts dense');
  await plasOn.check();
  await page.getByTestId('backend').getByText('PLAS').waitFor();
  assert.equal((await plasNow()).backend, 'plas');
  // PLAS Mini's plas_config.json: the gate in prefill, its key-bound form in decode; the select turns decode to the
  // gate's pooled keys.
  const decodeScores = page.getByRole('combobox', { name: 'Decode block scores' });
  assert.equal(await decodeScores.inputValue(), 'bound-gate');
  assert.equal(await page.getByRole('combobox', { name: 'Prefill block scores' }).inputValue(), 'gate');
  await decodeScores.selectOption({ label: 'Learned gate (pooled keys)' });
  await until(async () => (await plasNow()).config.decoderBlockScore === 'gate', 'decode scores with the gate');
  await page.getByRole('button', { name: "Reset to the model's defaults" }).click();
  await page.getByTestId('backend').getByText('dense').waitFor();
  const reset = await plasNow();
  assert.equal(reset.backend, 'dense');
  assert.equal(reset.config.plas_decoder_top_k_left, 16, "PLAS Mini's plas_config.json");
  assert.equal(reset.config.decoderBlockScore, 'bound-gate');
  assert.equal(await decodeScores.inputValue(), 'bound-gate');
  assert.equal(await text(page.locator('output[data-key="plas_decoder_top_k_left"]')), '16 blocks');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.locator('.uplot canvas').waitFor();
  await assertAccessible();
  await fullScreenshot('tuning-dark');
  assert.deepEqual(errors, []);
});

test('with no model loaded the page says to load one on the Models page', async () => {
  await server.manager.unload('plas-mini');
  await page.reload();
  await page.getByTestId('not-loaded').waitFor();
  assert.match(await text(page.getByTestId('not-loaded')), /Load one on the Models page/);
  await assertAccessible();
  // The browser logs the 409 of GET /api/plas itself; nothing else may fail.
  assert.deepEqual(
    errors.filter((e) => !/Failed to load resource: the server responded with a status of 409/.test(e)),
    [],
  );
});
