/**
 * The Models page in a real browser against the real server: the empty state, adding a folder (a refused one shows the
 * server's reason; a copy of PLAS Mini registers), loading it with a progress bar, the loaded model, its gate and the
 * GPU at the top, the memory estimate following the context, removing it (confirmed; the files stay) and deleting its
 * files (only after typing its name). No console error, no serious axe violation; screenshots in test/e2e/artifacts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { DEFAULT_MODEL_DIR } from '../../main/cli/default-model.ts';
import { startTestServer, type TestServer } from '../main/server/server-fixture.ts';
import { axeViolations, describeViolations, launchChromium, screenshot, watchErrors } from './browser.ts';

let server: TestServer;
let browser: Browser;
let dir: string;
let page: Page;
let errors: string[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-e2e-models-'));
  await cp(DEFAULT_MODEL_DIR, join(dir, 'mini'), { recursive: true });
  await mkdir(join(dir, 'not-a-model'));
  const [s, b] = await Promise.all([startTestServer(), launchChromium()]);
  server = s;
  browser = b;
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  page = await context.newPage();
  errors = watchErrors(page);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const text = async (l: Locator) => (await l.textContent())?.replace(/\s+/g, ' ').trim() ?? '';

async function assertAccessible() {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, describeViolations(violations));
}

const row = (name: string) =>
  page.getByRole('listitem').filter({ has: page.getByRole('heading', { name, exact: true }) });

test('add a folder: the empty state, a refused folder with its reason, then a copy of PLAS Mini', async () => {
  await page.goto(`${server.url}/models?token=${server.token}`);
  await page.getByRole('heading', { name: 'No models yet' }).waitFor();
  assert.equal(await text(page.locator('[data-field="models-loaded"]')), 'None');
  await page.locator('[data-field="models-adapter"]').filter({ hasNotText: 'Unknown' }).waitFor();

  const path = page.getByLabel('Model folder path');
  await path.fill(join(dir, 'not-a-model'));
  await page.getByRole('button', { name: 'Add model' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await text(alert), /^Not added: .*not-a-model.*config\.json/);
  await assertAccessible();
  await screenshot(page, 'models-add-error');

  await path.fill(join(dir, 'nowhere'));
  await page.getByRole('button', { name: 'Add model' }).click();
  await page.getByRole('alert').filter({ hasText: 'does not exist' }).waitFor();

  // The two refusals are the only failed requests; Chromium logs each (expected here, and only here).
  assert.deepEqual(errors.splice(0), [
    'console: Failed to load resource: the server responded with a status of 400 (Bad Request)',
    'console: Failed to load resource: the server responded with a status of 400 (Bad Request)',
  ]);

  await path.fill(join(dir, 'mini'));
  await page.getByLabel('Name (optional)').fill('mini-copy');
  await page.getByRole('button', { name: 'Add model' }).click();
  await row('mini-copy').locator('[data-state="unloaded"]').waitFor();
  assert.equal(await page.getByRole('alert').count(), 0, 'the refusal is gone once a folder is added');
  const facts = await text(row('mini-copy').locator('dl'));
  assert.match(facts, /Architecture ?LlamaForCausalLM/);
  assert.match(facts, /Parameters ?4\.2M/);
  assert.match(facts, /Weights ?f16/);
  assert.match(facts, /Context ?8,192/);
  assert.match(facts, /On disk ?8\.\d MB/);
  assert.deepEqual(errors, []);
});

test('load it with a progress bar; the top shows the model, its gate and the GPU', async () => {
  // Whether a progress bar was ever shown in the row (the load of a small model is over in a moment).
  await page.evaluate(`
    window.sawProgress = false;
    new MutationObserver(() => { if (document.querySelector('li progress')) window.sawProgress = true; })
      .observe(document.body, { childList: true, subtree: true });
  `);
  await row('mini-copy').getByRole('button', { name: 'Load mini-copy' }).click();
  await row('mini-copy').locator('[data-state="loaded"]').waitFor({ timeout: 60_000 });
  assert.equal(await page.evaluate('window.sawProgress'), true, 'no progress bar was shown while loading');
  await page.locator('[data-field="models-loaded"]', { hasText: 'mini-copy' }).waitFor();
  await page.locator('[data-field="models-gate"]', { hasText: 'Learned gate' }).waitFor();
  assert.match(await text(page.locator('[data-field="models-gate"]')), /learned gate on layers 0-3/);
  assert.deepEqual(errors, []);
});

test('the GPU memory estimate follows the context', async () => {
  const memory = row('mini-copy').locator('[data-field="memory"]');
  const context = page.getByLabel('Context in tokens');
  await context.fill('512');
  await context.press('Enter');
  await memory.filter({ hasText: 'at 512 tokens' }).waitFor();
  const small = await text(row('mini-copy').locator('[data-field="memory-kv"]'));
  const weights = await text(row('mini-copy').locator('[data-field="memory-weights"]'));
  await context.fill('2048');
  await context.press('Enter');
  await memory.filter({ hasText: 'at 2,048 tokens' }).waitFor();
  const large = await text(row('mini-copy').locator('[data-field="memory-kv"]'));
  assert.notEqual(large, small, 'the KV cache grows with the context');
  assert.equal(await text(row('mini-copy').locator('[data-field="memory-weights"]')), weights, 'the weights do not');
  // The slider is the same control.
  const slider = page.getByLabel('Context for the memory estimates');
  assert.equal(await slider.inputValue(), '2048');
  await slider.focus();
  await slider.press('Home');
  await memory.filter({ hasText: 'at 128 tokens' }).waitFor();
  await context.fill('2048');
  await context.press('Enter');
  await memory.filter({ hasText: 'at 2,048 tokens' }).waitFor();
  await assertAccessible();
  await screenshot(page, 'models');
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, 'models-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(errors, []);
});

test('remove it from the list (confirmed; the files stay), then delete the files of another only by its name', async () => {
  await row('mini-copy').getByRole('button', { name: 'Remove mini-copy from the list' }).click();
  const dialog = page.getByRole('dialog', { name: 'Remove mini-copy?' });
  await dialog.waitFor();
  assert.match(await text(dialog), /Its files stay where they are/);
  await assertAccessible();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await row('mini-copy').count(), 1, 'Cancel keeps it');
  await row('mini-copy').getByRole('button', { name: 'Remove mini-copy from the list' }).click();
  await dialog.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('heading', { name: 'No models yet' }).waitFor();
  assert.ok(existsSync(join(dir, 'mini', 'model.safetensors')), 'removing leaves the files');
  assert.equal(await text(page.locator('[data-field="models-loaded"]')), 'None');

  // Add it again and delete its files: the button waits for the exact name.
  await page.getByLabel('Model folder path').fill(join(dir, 'mini'));
  await page.getByRole('button', { name: 'Add model' }).click();
  await row('mini').waitFor();
  await row('mini').getByRole('button', { name: 'Delete files of mini' }).click();
  const del = page.getByRole('dialog', { name: 'Delete the files of mini?' });
  await del.waitFor();
  const confirm = del.getByLabel('Type mini to confirm');
  const button = del.getByRole('button', { name: 'Delete files' });
  await confirm.fill('Mini');
  assert.equal(await button.isDisabled(), true);
  await assertAccessible();
  await screenshot(page, 'models-delete-confirm');
  await confirm.fill('mini');
  await button.click();
  await page.getByRole('heading', { name: 'No models yet' }).waitFor();
  assert.equal(existsSync(join(dir, 'mini')), false, 'the folder is deleted');
  assert.deepEqual(errors, []);
});

test("in the desktop window, Browse opens the shell's folder picker (through the IPC contract) and fills the path", async () => {
  // The desktop shell exposes window.plasDesktop from its preload (main/electron/preload.ts); Electron cannot run
  // here, so the bridge is stood in for before the page loads, with the contract's shape. A plain browser has none.
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const desktopPage = await context.newPage();
  const desktopErrors = watchErrors(desktopPage);
  await desktopPage.addInitScript(`window.plasDesktop = {
    pickModelFolder: async () => ${JSON.stringify(join(dir, 'mini'))},
    revealDataDir: async () => {}, appVersion: async () => '0.0.0', retryServer: async () => {},
    onServerStatus: () => () => {},
  }`);
  await desktopPage.goto(`${server.url}/models?token=${server.token}`);
  await desktopPage.getByRole('button', { name: 'Browse…' }).click();
  assert.equal(await desktopPage.getByLabel('Model folder path').inputValue(), join(dir, 'mini'));
  assert.deepEqual(desktopErrors, []);
  await context.close();
  await page.goto(`${server.url}/models?token=${server.token}`);
  await page.getByRole('button', { name: 'Add model' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Browse…' }).count(), 0, 'no Browse button in a plain browser');
});
