/**
 * Remote providers in a real browser against the real server, with a second real server (PLAS Mini on SwiftShader)
 * as the remote: the empty state, a bad URL refused with the server's message beside the field, a provider added with
 * its health and models, a taken name refused beside the Name field, one that is down with its reason, a key saved
 * (never shown back) and removed, a provider edited (a refused URL beside the field, the saved change checked at
 * once), chatting with the provider's model from the Chat page (no PLAS density for it), the
 * Tuning page's FastDeploy export following the ranges tuned here, removing a provider (confirmed), and the remote
 * going down: its model stays in the picker, disabled, with the reason; and a key the desktop app sealed, seen from a
 * headless server on its folder (why it cannot be used there, and where a key entered again goes). No console error beyond the two refusals, no
 * serious axe violation (light and dark); screenshots in test/e2e/artifacts.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { DEFAULT_MODEL_DIR } from '../../main/cli/default-model.ts';
import { desktopMasterKey } from '../../main/electron/master-key-store.ts';
import { fakeSecretStorage } from '../main/server/providers/secret-storage-fixture.ts';
import { bearer, http, startTestServer, type TestServer } from '../main/server/server-fixture.ts';
import { ARTIFACTS, axeViolations, describeViolations, launchChromium, screenshot, watchErrors } from './browser.ts';

let local: TestServer;
let remote: TestServer;
let remoteStopped = false;
let browser: Browser;
let page: Page;
let errors: string[];
const failed: string[] = [];
/** A loopback port nothing listens on: a provider there is down (connection refused). */
let closedPort: number;

const KEY = 'sk-test-never-shown-7f3a9c';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  // Both run PLAS Mini: the local one is the model whose tuned ranges the FastDeploy export shows.
  const [l, r, b, port] = await Promise.all([
    startTestServer({ model: DEFAULT_MODEL_DIR }),
    startTestServer({ model: DEFAULT_MODEL_DIR }),
    launchChromium(),
    freePort(),
  ]);
  [local, remote, browser, closedPort] = [l, r, b, port];
  await Promise.all([local.ready, remote.ready]);
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: local.url });
  page = await context.newPage();
  errors = watchErrors(page);
  // Which requests failed, for the messages of the console checks (Chromium's log line names no URL).
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  // Short replies: the chat takes its sampling from the Tuning page's, kept in localStorage.
  await page.goto(`${local.url}/models?token=${local.token}`);
  await page.evaluate(`localStorage.setItem('plas.sampling', JSON.stringify({ maxTokens: 12, temperature: 0 }))`);
});

after(async () => {
  await browser?.close();
  await local?.stop();
  if (!remoteStopped) await remote?.stop();
});

const text = async (l: Locator) => (await l.textContent())?.replace(/\s+/g, ' ').trim() ?? '';
const section = () => page.getByRole('region', { name: 'Remote providers' });
const row = (name: string) =>
  section()
    .getByRole('listitem')
    .filter({ has: page.getByRole('heading', { name, exact: true }) });
const health = (name: string) => row(name).locator('[data-field="provider-health"]');

async function assertAccessible() {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, describeViolations(violations));
}

/**
 * A picture of one part of the page (the section the test is about). The app scrolls inside <main>, so the window is
 * made as tall as its content first (as screenshot() does), or the section would be cut at the window's edge.
 */
async function shot(l: Locator, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  const size = page.viewportSize() ?? { width: 1100, height: 900 };
  const height = (await page.evaluate("document.querySelector('main').scrollHeight + 60")) as number;
  await page.setViewportSize({ width: size.width, height: Math.min(Math.max(height, size.height), 8000) });
  await l.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  await page.setViewportSize(size);
}

const apiProviders = async () => (await http(local.port, '/api/providers', { headers: bearer(local.token) })).body;

test('the empty state explains providers; a bad URL is refused with the message beside the field', async () => {
  await page.goto(`${local.url}/models`);
  await section().getByRole('heading', { name: 'No remote providers yet' }).waitFor();
  assert.match(await text(section()), /LM Studio or Jan/);
  await assertAccessible();
  await shot(section(), 'providers-empty');

  // A preset fills its usual address and a name; the user's URL is what is sent.
  await page.getByLabel('Server').selectOption({ label: 'FastDeploy' });
  assert.equal(await page.getByLabel('Base URL').inputValue(), 'http://localhost:8180/v1');
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'fastdeploy');
  await page.getByLabel('Server').selectOption({ label: 'vLLM' });
  assert.equal(await page.getByLabel('Base URL').inputValue(), 'http://localhost:8000/v1');
  await page.getByLabel('Name', { exact: true }).fill('gpu');
  await page.getByLabel('Base URL').fill('ftp://gpu-box/v1');
  await page.getByRole('button', { name: 'Add provider' }).click();
  const refusal = page.locator('#add-provider-baseUrl-error');
  await refusal.waitFor();
  assert.match(await text(refusal), /baseUrl: must start with http:\/\/ or https:\/\//);
  assert.equal(await page.getByLabel('Base URL').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#add-provider-name-error').count(), 0, 'only the field the server named is marked');
  await assertAccessible();
  await shot(section().getByRole('region', { name: 'Add a provider' }), 'providers-refused');
  // The refusal is the only failed request; Chromium logs it (expected here, and only here).
  failed.splice(0);
  assert.deepEqual(errors.splice(0), [
    'console: Failed to load resource: the server responded with a status of 400 (Bad Request)',
  ]);
});

test('a provider is added with its health and models; one that is down shows why; a key is saved, never shown', async () => {
  await page.getByLabel('Server').selectOption({ label: 'Another PLAS Studio' });
  await page.getByLabel('Name', { exact: true }).fill('remote');
  await page.getByLabel('Base URL').fill(`${remote.url}/v1`);
  await page.getByRole('button', { name: 'Add provider' }).click();
  await page.getByRole('status').filter({ hasText: 'Added remote' }).waitFor({ timeout: 20_000 });
  await health('remote').and(page.locator('[data-state="ok"]')).waitFor({ timeout: 20_000 });
  assert.match(await text(health('remote')), /^Reachable \d+ ms · checked \d/);
  assert.equal(await text(row('remote').locator('[data-field="provider-kind"]')), 'Another PLAS Studio');
  assert.equal(await text(row('remote').locator('[data-field="provider-url"]')), `${remote.url}/v1`);
  await row('remote').getByText('remote/plas-mini', { exact: true }).waitFor();
  assert.ok(await row('remote').getByRole('switch', { name: 'Offer the models of remote' }).isChecked());

  // The same name again: refused (409), the reason beside the Name field.
  await page.getByLabel('Name', { exact: true }).fill('remote');
  await page.getByLabel('Base URL').fill(`${remote.url}/v1`);
  await page.getByRole('button', { name: 'Add provider' }).click();
  await page.locator('#add-provider-name-error', { hasText: 'a provider named "remote" exists already' }).waitFor();
  assert.equal(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
  failed.splice(0);
  assert.deepEqual(errors.splice(0), [
    'console: Failed to load resource: the server responded with a status of 409 (Conflict)',
  ]);

  // Nothing listens there: added, and shown down with the server's reason.
  await page.getByLabel('Server').selectOption({ label: 'vLLM' });
  await page.getByLabel('Name', { exact: true }).fill('offline');
  await page.getByLabel('Base URL').fill(`http://127.0.0.1:${closedPort}/v1`);
  await page.getByLabel('API key (optional)').fill(KEY);
  await page.getByRole('button', { name: 'Add provider' }).click();
  await health('offline').and(page.locator('[data-state="down"]')).waitFor({ timeout: 20_000 });
  assert.match(await text(health('offline')), /^Down · checked \d/);
  const why = await text(row('offline').locator('[data-field="provider-down-reason"]'));
  assert.match(why, /^Provider "offline": .*127\.0\.0\.1/, why);
  await section().getByRole('status').filter({ hasText: 'Added offline, but it is down' }).waitFor();
  assert.equal(await page.getByLabel('Base URL').inputValue(), 'http://localhost:8000/v1', 'a fresh form');
  assert.equal(await text(row('offline').locator('[data-field="provider-key"]')), 'Key saved');
  assert.equal(await page.getByLabel('API key (optional)').inputValue(), '', 'the key field is emptied once sent');

  // Replace: the new key goes in a password field; the page and the API never show either key.
  await row('offline').getByRole('button', { name: 'Replace key of offline' }).click();
  const keyBox = row('offline').getByLabel('New API key');
  assert.equal(await keyBox.getAttribute('type'), 'password');
  await keyBox.fill(`${KEY}-2`);
  await row('offline').getByRole('button', { name: 'Save key' }).click();
  await row('offline').getByRole('button', { name: 'Replace key of offline' }).waitFor();
  assert.ok(!(await page.content()).includes(KEY), 'a key is in the page');
  assert.ok(!(await apiProviders()).includes(KEY), 'a key is in GET /api/providers');

  await assertAccessible();
  await shot(section(), 'providers-list');
  await screenshot(page, 'providers-models-page');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(section(), 'providers-list-dark');
  await assertAccessible();
  await page.emulateMedia({ colorScheme: 'light' });

  // Remove key (confirmed), then turn the provider off: its models are no longer offered.
  await row('offline').getByRole('button', { name: 'Remove key of offline' }).click();
  await page
    .getByRole('dialog', { name: 'Remove the API key of offline?' })
    .getByRole('button', { name: 'Remove key' })
    .click();
  await row('offline').locator('[data-field="provider-key"]', { hasText: 'No API key' }).waitFor();
  const toggle = row('offline').getByRole('switch', { name: 'Offer the models of offline' });
  await toggle.click();
  await health('offline').and(page.locator('[data-state="disabled"]')).waitFor();
  assert.equal(await toggle.isChecked(), false);
  assert.deepEqual(errors, [], failed.join('\n'));
});

test('a provider is edited: a refused URL is shown beside the field; a saved change is checked at once', async () => {
  const toggle = row('offline').getByRole('switch', { name: 'Offer the models of offline' });
  await toggle.click();
  await health('offline').and(page.locator('[data-state="down"]')).waitFor({ timeout: 20_000 });
  await row('offline').getByRole('button', { name: 'Edit offline' }).click();
  const form = row('offline').getByRole('form', { name: 'Edit offline' });
  const url = form.getByLabel('Base URL');
  assert.equal(await url.inputValue(), `http://127.0.0.1:${closedPort}/v1`, 'starts from what is saved');
  assert.equal(await form.getByLabel('Server').inputValue(), 'vllm');
  await url.and(page.locator(':focus')).waitFor({ timeout: 2000 }); // the address field has the focus
  await url.fill('ftp://gpu-box/v1');
  await form.getByRole('button', { name: 'Save' }).click();
  const refusal = form.getByRole('alert');
  await refusal.waitFor();
  assert.match(await text(refusal), /^baseUrl: must start with http:\/\/ or https:\/\//);
  assert.equal(await url.getAttribute('aria-invalid'), 'true');
  assert.equal(await form.getByLabel('Server').getAttribute('aria-invalid'), null, 'only the field named');
  assert.match((await url.getAttribute('aria-describedby')) ?? '', /provider-edit-baseUrl-error:offline/);
  await assertAccessible();
  await shot(row('offline'), 'providers-edit');
  await page.emulateMedia({ colorScheme: 'dark' });
  await assertAccessible();
  await shot(row('offline'), 'providers-edit-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  failed.splice(0);
  assert.deepEqual(errors.splice(0), [
    'console: Failed to load resource: the server responded with a status of 400 (Bad Request)',
  ]);

  // Pointed at the remote, as another PLAS Studio: saved, checked at once (down before, reachable now), models listed.
  await form.getByLabel('Server').selectOption({ label: 'Another PLAS Studio' });
  await url.fill(`${remote.url}/v1`);
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached', timeout: 20_000 });
  await health('offline').and(page.locator('[data-state="ok"]')).waitFor({ timeout: 20_000 });
  assert.match(await text(health('offline')), /^Reachable \d+ ms · checked \d/);
  assert.equal(await text(row('offline').locator('[data-field="provider-url"]')), `${remote.url}/v1`);
  assert.equal(await text(row('offline').locator('[data-field="provider-kind"]')), 'Another PLAS Studio');
  await row('offline').getByText('offline/plas-mini', { exact: true }).waitFor();
  // The focus is back on Edit.
  await row('offline')
    .getByRole('button', { name: 'Edit offline' })
    .and(page.locator(':focus'))
    .waitFor({ timeout: 2000 });
  const saved = JSON.parse(await apiProviders()).providers.find((p: { name: string }) => p.name === 'offline');
  assert.equal(saved.kind, 'plas-studio');
  assert.equal(saved.baseUrl, `${remote.url}/v1`);
  await shot(row('offline'), 'providers-edited');

  // Off again, as the tests below expect it.
  await toggle.click();
  await health('offline').and(page.locator('[data-state="disabled"]')).waitFor();
  assert.deepEqual(errors, [], failed.join('\n'));
});

test("chatting with the provider's model: the reply streams in, without a PLAS density", async () => {
  const sent: { model?: string }[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/v1/chat/completions')) sent.push(r.postDataJSON());
  });
  await page.getByRole('link', { name: 'Chat', exact: true }).click();
  const picker = page.getByLabel('Model', { exact: true });
  await picker
    .locator('optgroup[label="remote (Another PLAS Studio)"] option', { hasText: 'remote/plas-mini' })
    .waitFor({ state: 'attached' });
  assert.equal(await picker.locator('optgroup[label="On this computer"] option').count(), 1);
  await picker.selectOption('remote/plas-mini');
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('Say hello.');
  await box.press('Enter');
  const reply = page.getByRole('article', { name: 'Reply' });
  await reply.locator('[data-stat="ttft"]').waitFor({ timeout: 60_000 });
  assert.notEqual(await text(reply.locator('.markdown')), '');
  assert.match(await text(reply.locator('[data-stat="tokens"]')), /^[1-9]\d*$/);
  assert.equal(await reply.locator('[data-stat="density"]').count(), 0, 'a remote reply shows no PLAS density');
  assert.equal(sent[0]?.model, 'remote/plas-mini');
  assert.equal(await picker.inputValue(), 'remote/plas-mini');
  await assertAccessible();
  await screenshot(page, 'providers-chat');
  assert.deepEqual(errors, [], failed.join('\n'));
});

test('the Tuning page shows the FastDeploy launch config of the ranges tuned here, to copy', async () => {
  const fd = await http(local.port, '/api/providers', {
    method: 'POST',
    headers: bearer(local.token),
    body: { name: 'fd', kind: 'fastdeploy', baseUrl: `http://127.0.0.1:${closedPort}/v1` },
  });
  assert.equal(fd.status, 201, fd.body);
  await page.getByRole('link', { name: 'Tuning', exact: true }).click();
  const exportSection = page.getByRole('region', { name: 'PLAS on your FastDeploy server' });
  const json = exportSection.locator('[data-field="plas-config-json"]');
  await json.waitFor();
  assert.match(await text(exportSection), /fixes the ranges when it starts/);
  const exported = async () => JSON.parse((await json.textContent()) ?? '') as Record<string, number>;
  assert.equal((await exported()).plas_decoder_top_k_left, 100, 'the defaults, before any tuning');
  const command = await text(exportSection.locator('[data-field="plas-config-command"]'));
  assert.match(command, /^FD_ATTENTION_BACKEND=PLAS_ATTN .*--plas-attention-config '\{.*\}'$/);

  // Tuned here (the decode range down to 2 blocks): the export follows what the engine saved.
  const left = page.getByLabel('Decode top-k, at least');
  await left.focus();
  await page.keyboard.press('Home'); // 1 block
  await page.keyboard.press('ArrowRight'); // 2 blocks
  await page.locator('output[data-key="plas_decoder_top_k_left"]').getByText('2 blocks').waitFor();
  await json.filter({ hasText: '"plas_decoder_top_k_left": 2,' }).waitFor();
  assert.equal((await exported()).plas_decoder_top_k_left, 2);
  // The command is shown one flag per line; joined again, it is the server's, word for word.
  const server = (
    await http(local.port, '/api/providers/fd/plas-config?model=plas-mini', { headers: bearer(local.token) })
  ).json();
  const shown = (await exportSection.locator('[data-field="plas-config-command"]').textContent()) ?? '';
  assert.equal(shown.replaceAll(' \\\n  ', ' '), server.command);
  assert.match(shown, /"plas_decoder_top_k_left":2,/);
  assert.deepEqual(await exported(), server.config);

  await assertAccessible();
  await shot(exportSection, 'tuning-fastdeploy');
  await screenshot(page, 'tuning-fastdeploy-page');
  await page.emulateMedia({ colorScheme: 'dark' });
  await assertAccessible();
  await shot(exportSection, 'tuning-fastdeploy-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await exportSection.getByRole('button', { name: 'Copy the PLAS attention config JSON' }).click();
  await exportSection
    .getByRole('button', { name: 'Copy the PLAS attention config JSON' })
    .getByText('Copied')
    .waitFor();
  await assertAccessible(); // while it says "Copied", its name still contains what it shows
  assert.equal(await page.evaluate('navigator.clipboard.readText()'), await json.textContent());
  assert.deepEqual(errors, [], failed.join('\n'));
});

test('removing a provider asks first; the remote going down leaves its model listed, disabled, with the reason', async () => {
  await page.getByRole('link', { name: 'Models', exact: true }).click();
  await row('fd').getByRole('button', { name: 'Remove fd' }).click();
  const dialog = page.getByRole('dialog', { name: 'Remove fd?' });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await row('fd').count(), 1, 'Cancel keeps it');
  await row('fd').getByRole('button', { name: 'Remove fd' }).click();
  await dialog.getByRole('button', { name: 'Remove provider' }).click();
  await row('fd').waitFor({ state: 'detached' });
  assert.ok(!(await apiProviders()).includes('"fd"'));

  await remote.stop();
  remoteStopped = true;
  await row('remote').getByRole('button', { name: 'Check now: remote' }).click();
  await health('remote').and(page.locator('[data-state="down"]')).waitFor({ timeout: 20_000 });
  const why = await text(row('remote').locator('[data-field="provider-down-reason"]'));
  await page.getByRole('link', { name: 'Chat', exact: true }).click();
  const option = page.getByLabel('Model', { exact: true }).locator('option', { hasText: 'remote/plas-mini' });
  await option.waitFor({ state: 'attached' });
  assert.equal(await option.isDisabled(), true);
  assert.match(await text(option), /^remote\/plas-mini \(unavailable: /);
  assert.ok((await text(option)).includes(why.slice(0, 40)), `${await text(option)} vs ${why}`);
  assert.deepEqual(errors, [], failed.join('\n'));
});

test('a key the desktop app sealed, seen from a headless server on its folder: the card says why, and what a new key does', async () => {
  // The app's server saved a key under the master key the system's secret storage keeps (provider-keys.safe)...
  const dataDir = await mkdtemp(join(tmpdir(), 'plas-e2e-sealed-'));
  const appKey = desktopMasterKey(dataDir, fakeSecretStorage(), () => {}) as Buffer;
  const app = await startTestServer({ dataDir, masterKey: appKey });
  const added = await http(app.port, '/api/providers', {
    method: 'POST',
    headers: bearer(app.token),
    body: { name: 'cloud', baseUrl: `http://127.0.0.1:${closedPort}/v1`, apiKey: KEY },
  });
  assert.equal(added.status, 201, added.body);
  await app.close();
  // ...and `plas serve` runs on the same folder by hand, without it.
  const headless = await startTestServer({ dataDir });
  try {
    await page.goto(`${headless.url}/models?token=${headless.token}`);
    const reason = row('cloud').locator('[data-field="provider-down-reason"]');
    await reason.filter({ hasText: 'its API key is sealed' }).waitFor();
    assert.match(
      await text(reason),
      /^Provider "cloud": its API key is sealed with the master key that the PLAS Studio app/,
    );
    assert.match(await text(reason), /run PLAS Studio on this data folder, or enter the key again here/);
    assert.equal(
      await text(row('cloud').locator('[data-field="provider-key"]')),
      'Key saved, not usable on this server',
    );
    const note = row('cloud').locator('[data-field="provider-key-note"]');
    assert.equal(await note.count(), 0, 'said once, in the health line');
    await assertAccessible();
    await shot(row('cloud'), 'providers-key-sealed-by-app');
    await page.emulateMedia({ colorScheme: 'dark' });
    await assertAccessible();
    await shot(row('cloud'), 'providers-key-sealed-by-app-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    await row('cloud').getByRole('button', { name: 'Replace key of cloud' }).click();
    await row('cloud').getByLabel('New API key').fill(`${KEY}-again`);
    await row('cloud').getByRole('button', { name: 'Save key' }).click();
    await note.filter({ hasText: "Kept in this data folder's provider-keys.key" }).waitFor();
    assert.match(await text(note), /the app reads this file too/);
    assert.ok(!(await page.content()).includes(KEY), 'a key is in the page');
    await shot(row('cloud'), 'providers-key-kept-in-file');
    assert.deepEqual(errors, [], failed.join('\n'));
  } finally {
    await headless.stop();
  }
});
