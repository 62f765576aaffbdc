/**
 * The app in a real browser against the real server (PLAS Mini on SwiftShader): each page loads under its CSP with no
 * console error and no serious accessibility violation, a chat reply streams with its figures, Stop and Esc end a
 * reply, and the Models page shows PLAS Mini loaded. Screenshots of every page go to test/e2e/artifacts/.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { DEFAULT_MODEL_DIR } from '../../main/cli/default-model.ts';
import { startTestServer, type TestServer } from '../main/server/server-fixture.ts';
import { axeViolations, describeViolations, launchChromium, screenshot, watchErrors } from './browser.ts';

let server: TestServer;
let browser: Browser;
let context: BrowserContext;

before(async () => {
  // Launch both at once: each takes a few seconds on two cores.
  const [s, b] = await Promise.all([startTestServer({ model: DEFAULT_MODEL_DIR }), launchChromium()]);
  server = s;
  browser = b;
  await server.ready;
  context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh tab on `path`, opened the way the desktop window opens it (with ?token=), and its error log. */
async function open(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors = watchErrors(page);
  const response = await page.goto(`${server.url}${path}?token=${server.token}`);
  assert.equal(response?.status(), 200);
  return { page, errors };
}

/** A node's text, trimmed (its DOM text: no layout needed). */
const text = async (l: Locator) => (await l.textContent())?.trim() ?? '';

async function assertAccessible(page: Page) {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, describeViolations(violations));
}

test('the app loads under its CSP, drops the token from the address bar, and logs no error', async () => {
  const page = await context.newPage();
  const errors = watchErrors(page);
  const response = await page.goto(`${server.url}/?token=${server.token}`);
  const headers = response!.headers();
  assert.match(headers['content-security-policy'], /default-src 'self'; script-src 'self';/);
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  await page.getByRole('heading', { name: 'Start a conversation' }).waitFor();
  await page.getByLabel('Model', { exact: true }).waitFor();
  assert.equal(new URL(page.url()).search, '', 'the token stays in the address bar');
  assert.equal(await page.evaluate("sessionStorage.getItem('plas.token')"), server.token);
  assert.deepEqual(errors, []);
  await assertAccessible(page);
  await screenshot(page, 'chat-empty');
  await page.close();
});

test('a chat reply streams from PLAS Mini and shows tok/s, time to first token, tokens and PLAS density', async () => {
  const { page, errors } = await open('/chat');
  const sent: unknown[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/v1/chat/completions')) sent.push(r.postDataJSON());
  });
  await page.getByRole('option', { name: /plas-mini \(loaded\)/ }).waitFor({ state: 'attached' });
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('Who are you?');
  await box.press('Enter');
  const reply = page.getByRole('article', { name: 'Reply' });
  await reply.locator('[data-stat="density"]').waitFor({ timeout: 60_000 });
  assert.match(await text(reply.locator('[data-stat="tps"]')), /^\d+(\.\d)? tok\/s$/);
  assert.match(await text(reply.locator('[data-stat="ttft"]')), /^\d+ ms$/);
  assert.match(await text(reply.locator('[data-stat="tokens"]')), /^[1-9]\d*$/);
  assert.match(await text(reply.locator('[data-stat="density"]')), /%/);
  // The figures the app shows for PLAS Mini (the closing notes quote this line).
  const shown = await Promise.all(
    ['tps', 'ttft', 'tokens', 'density'].map((s) => text(reply.locator(`[data-stat="${s}"]`))),
  );
  console.log(`the app shows for PLAS Mini: ${shown[0]}, first token ${shown[1]}, ${shown[2]} tokens, ${shown[3]}`);
  assert.notEqual(await text(reply.locator('.markdown')), '');
  assert.equal(await box.inputValue(), '', 'the box is emptied on send');
  const body = sent[0] as { stream: boolean; stream_options: unknown; model: string };
  assert.equal(body.stream, true);
  assert.deepEqual(body.stream_options, { include_usage: true });
  assert.equal(body.model, 'plas-mini');
  assert.deepEqual(errors, []);
  await assertAccessible(page);
  await screenshot(page, 'chat-reply');
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, 'chat-reply-dark');
  await page.close();
});

test('Stop and Esc end a long reply mid-stream, and the text stops growing', async () => {
  const { page, errors } = await open('/tuning');
  // A reply of at least 1,500 tokens (the Tuning page's Min tokens) cannot end on its own within the test.
  await page.getByLabel('Min tokens').fill('1500');
  await page.getByLabel('Max tokens').fill('2000');
  await page.getByLabel('Max tokens').press('Tab');
  await assertAccessible(page);
  await screenshot(page, 'tuning');
  await page.getByRole('link', { name: 'Chat', exact: true }).click();
  const box = page.getByRole('textbox', { name: 'Message' });

  for (const how of ['button', 'escape']) {
    // A new chat each time (it takes the new sampling; the chat open last is reopened otherwise), so the stopped
    // reply of the first round is not history that would push prompt + max tokens past the context.
    await page.getByRole('button', { name: 'New chat' }).click();
    await box.fill('Tell me a long story.');
    await box.press('Enter');
    const reply = page.getByRole('article', { name: 'Reply' }).first();
    await reply.locator('.markdown').waitFor({ timeout: 60_000 });
    if (how === 'button') await page.getByRole('button', { name: 'Stop' }).click();
    else await page.keyboard.press('Escape');
    await reply.getByText('Stopped.').waitFor();
    const before = await text(reply.locator('.markdown'));
    await page.waitForTimeout(500);
    assert.equal(await text(reply.locator('.markdown')), before, `the reply grew after ${how} stopped it`);
    assert.ok(await page.getByRole('button', { name: 'Send' }).isVisible());
  }
  await screenshot(page, 'chat-stopped');
  await page.evaluate("localStorage.removeItem('plas.sampling')");
  assert.deepEqual(errors, []);
  await page.close();
});

test('the Models page lists PLAS Mini as loaded, and unloads and loads it again', async () => {
  const { page, errors } = await open('/models');
  const row = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'plas-mini' }) });
  await row.locator('[data-state="loaded"]').waitFor();
  await assertAccessible(page);
  await screenshot(page, 'models');
  await row.getByRole('button', { name: 'Unload plas-mini' }).click();
  await row.locator('[data-state="unloaded"]').waitFor();
  await screenshot(page, 'models-unloaded');
  await row.getByRole('button', { name: 'Load plas-mini' }).click();
  await row.locator('[data-state="loaded"]').waitFor({ timeout: 60_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the Server page shows the URL, the loaded model and snippets to copy', async () => {
  const { page, errors } = await open('/server');
  await page.locator('[data-field="loaded-model"]', { hasText: 'plas-mini' }).waitFor();
  assert.equal(await text(page.locator('[data-field="base-url"]')), `${server.url}/v1`);
  const curl = page.getByRole('region', { name: 'curl' }).locator('pre');
  assert.match(await text(curl), new RegExp(`curl ${server.url}/v1/chat/completions .*"model": "plas-mini"`, 's'));
  // The chats of the tests before this one are the server's recent requests, newest first, with their figures: the
  // newest is the reply Esc stopped (499: the client went away), and the first test's reply ended well (200).
  const rows = page.getByRole('region', { name: 'Recent requests' }).locator('tbody tr');
  await rows.first().waitFor();
  const cells = async (i: number) => Promise.all((await rows.nth(i).locator('td').all()).map((c) => text(c)));
  assert.equal((await cells(0))[3], '499');
  const all = await Promise.all(Array.from({ length: await rows.count() }, (_, i) => cells(i)));
  const ok = all.find((c) => c[3] === '200');
  assert.ok(ok, JSON.stringify(all));
  assert.deepEqual(ok.slice(1, 4), ['/v1/chat/completions', 'plas-mini', '200']);
  assert.match(ok[6], /^\d+ ms$/);
  assert.match(ok[7], /^[\d.]+ tok\/s$/);
  await assertAccessible(page);
  await screenshot(page, 'server');
  assert.deepEqual(errors, []);
  await page.close();
});

test('without a token the pages say in plain words how to open the app', async () => {
  const page = await context.newPage();
  await page.goto(`${server.url}/models`);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await text(alert), /no valid access token/);
  await assertAccessible(page);
  await screenshot(page, 'models-no-token');
  await page.close();
});
