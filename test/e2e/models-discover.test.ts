/**
 * The Models page's "Find models on this computer" and "Download from Hugging Face" in a real browser against the
 * real server, over a fake home (Hugging Face cache, LM Studio, Ollama) and a hub on loopback: the found models with
 * why some cannot run, Add registering one in place, a download with its progress bar that completes and adds the
 * model, and a download cancelled. No console error, no serious axe violation; screenshots in test/e2e/artifacts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { type FakeHome, makeFakeHome } from '../main/models/fake-trees.ts';
import { LLAMA_Q4_K_M, writeGguf } from '../main/models/gguf-fixture.ts';
import { commitOf, type LocalHub, startLocalHub } from '../main/models/local-hub.ts';
import { startTestServer, type TestServer } from '../main/server/server-fixture.ts';
import { axeViolations, describeViolations, launchChromium, screenshot, watchErrors } from './browser.ts';

let fake: FakeHome;
let hub: LocalHub;
let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[];
/** Responses that failed, by URL: the only ones allowed are the memory estimates of GGUF models (see below). */
const failed: string[] = [];

before(async () => {
  fake = await makeFakeHome(await mkdtemp(join(tmpdir(), 'plas-e2e-discover-')));
  process.env.HOME = fake.home;
  for (const key of ['HF_HUB_CACHE', 'HF_HOME', 'XDG_CACHE_HOME', 'OLLAMA_MODELS', 'HF_TOKEN']) delete process.env[key];
  hub = await startLocalHub();
  process.env.HF_ENDPOINT = hub.endpoint;
  const gguf = join(fake.home, 'served.gguf');
  await writeGguf(gguf, {
    ...LLAMA_Q4_K_M,
    tensors: [...LLAMA_Q4_K_M.tensors, { name: 'blk.0.ffn_up.weight', shape: [1024, 256], type: 'Q4_K' }],
  });
  const bytes = await readFile(gguf);
  hub.repos.set('acme/Pulled-GGUF', {
    commit: commitOf('pulled'),
    files: {
      'Pulled-Q4_K_M.gguf': bytes,
      'Pulled-Q8_0.gguf': Buffer.alloc(1000),
      'README.md': Buffer.from('# Pulled\n'),
    },
  });
  hub.repos.set('acme/slow', { commit: commitOf('slow'), files: { 'slow.gguf': Buffer.alloc(2_000_000, 1) } });
  const [s, b] = await Promise.all([startTestServer(), launchChromium()]);
  server = s;
  browser = b;
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  page = await context.newPage();
  errors = watchErrors(page);
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await hub?.close();
  await rm(fake.home, { recursive: true, force: true });
});

const text = async (l: Locator) => (await l.textContent())?.replace(/\s+/g, ' ').trim() ?? '';
const found = () => page.getByRole('list', { name: 'Models found on this computer' });
const foundItem = (name: string) =>
  found()
    .getByRole('listitem')
    .filter({ has: page.getByRole('heading', { name, exact: true }) });
const registered = (name: string) =>
  page
    .getByRole('list', { name: 'Registered models' })
    .getByRole('listitem')
    .filter({ has: page.getByRole('heading', { name, exact: true }) });

async function assertAccessible() {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, describeViolations(violations));
}

/**
 * The memory estimate reads a model folder's config.json; a GGUF model has none until the engine loads GGUF (another
 * part of issue 17), so its estimate is refused (the row says so) and Chromium logs the failed request.
 */
function consoleErrorsBesidesGgufEstimates(): string[] {
  const estimates = failed.filter((f) => /^500 \/api\/models\/[^/]+\/estimate$/.test(f)).length;
  assert.equal(failed.length, estimates, `unexpected failed requests: ${failed.join(', ')}`);
  const logged = errors.filter((e) => e.includes('status of 500 (Internal Server Error)'));
  assert.equal(logged.length, estimates);
  return errors.filter((e) => !e.includes('status of 500 (Internal Server Error)'));
}

test('the models on this computer are listed with why some cannot run; Add registers one in place', async () => {
  await page.goto(`${server.url}/models?token=${server.token}`);
  await foundItem('tiny:q4').waitFor();
  assert.match(await text(foundItem('tiny:q4')), /Ollama GGUF · llama · Q4_K_M · \d+ KB · 4,096 tokens/);
  assert.match(await text(foundItem('acme/tiny-llama')), /Hugging Face cache safetensors · LlamaForCausalLM · f16/);
  assert.match(await text(foundItem('lmstudio-community/Tiny-GGUF/Tiny-Q4_K_M.gguf')), /LM Studio GGUF/);
  const q2 = foundItem('acme/tiny-GGUF/tiny-Q2_K.gguf');
  assert.match(await text(q2), /Cannot run here: quant type q2_k not supported/);
  assert.equal(await q2.getByRole('button').count(), 0, 'no Add button for a model that cannot run');
  const linkedOut = foundItem('evil/escape/escape.gguf');
  assert.match(
    await text(linkedOut),
    /Cannot run here: it is a link that leads outside the folder it was found in \(or nowhere\): not followed/,
  );

  await foundItem('tiny:q4').getByRole('button', { name: 'Add tiny:q4' }).click();
  await registered('tiny:q4').waitFor();
  await foundItem('tiny:q4').getByText('Added as tiny:q4').waitFor();
  assert.match(
    await text(registered('tiny:q4').locator('dl')),
    /Architecture ?LlamaForCausalLM.*Weights ?q4_k_m.*Context ?4,096/,
  );

  await foundItem('acme/tiny-llama').getByRole('button', { name: 'Add acme/tiny-llama' }).click();
  await registered('acme/tiny-llama').waitFor();
  await foundItem('acme/tiny-llama').scrollIntoViewIfNeeded();
  await assertAccessible();
  await screenshot(page, 'models-discover');
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, 'models-discover-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(consoleErrorsBesidesGgufEstimates(), []);
});

test('a download shows its progress, lands in the HF cache and adds the model', async () => {
  hub.trickle = { chunk: 8192, delayMs: 120 };
  await page.getByLabel('Model (ORG/NAME)').fill('acme/Pulled-GGUF');
  await page.getByLabel('Files (optional)').fill('*Q4_K_M.gguf');
  await page.getByRole('button', { name: 'Download', exact: true }).click();
  const progress = page.locator('[data-field="download-progress"]');
  await progress.filter({ hasText: /Pulled-Q4_K_M\.gguf \(1 of 1\) · [1-9]\d?% · / }).waitFor();
  const bar = page.locator('progress#download-bar');
  assert.ok(Number(await bar.getAttribute('value')) > 0, 'the bar moved');
  await progress.scrollIntoViewIfNeeded();
  await assertAccessible();
  await screenshot(page, 'models-download');
  hub.trickle = { chunk: 0, delayMs: 0 };
  const outcome = page.locator('[data-field="download-outcome"]');
  await outcome.waitFor({ timeout: 30_000 });
  assert.equal(await text(outcome), 'Downloaded acme/Pulled-GGUF and added it as Pulled-Q4_K_M.');
  await registered('Pulled-Q4_K_M').waitFor();
  await foundItem('acme/Pulled-GGUF/Pulled-Q4_K_M.gguf').getByText('Added as Pulled-Q4_K_M').waitFor();
  assert.deepEqual(consoleErrorsBesidesGgufEstimates(), []);
});

test('Cancel stops a download; what came is kept to resume', async () => {
  hub.trickle = { chunk: 16_384, delayMs: 100 };
  await page.getByLabel('Model (ORG/NAME)').fill('acme/slow');
  await page.getByLabel('Files (optional)').fill('');
  await page.getByRole('button', { name: 'Download', exact: true }).click();
  await page
    .locator('[data-field="download-progress"]')
    .filter({ hasText: /slow\.gguf \(1 of 1\)/ })
    .waitFor();
  await page.getByRole('button', { name: 'Cancel' }).click();
  const outcome = page.locator('[data-field="download-outcome"]');
  await outcome.waitFor();
  assert.match(
    await text(outcome),
    /^Cancelled\. What was downloaded of acme\/slow is kept; download it again to resume\.$/,
  );
  hub.trickle = { chunk: 0, delayMs: 0 };
  assert.equal(await registered('slow').count(), 0);
  await page.getByLabel('Model (ORG/NAME)').fill('not a repo');
  await page.getByRole('button', { name: 'Download', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'Type the model as ORG/NAME' }).waitFor();
  await assertAccessible();
  assert.deepEqual(consoleErrorsBesidesGgufEstimates(), []);
});
