/**
 * Gate training from the Tuning page in a real browser, on a copy of PLAS Mini without its gate (training never writes
 * into resources/): the section says when no model is loaded; a training shows its progress (phase, layer, ETA) and
 * Cancel stops it with no file written; a tiny one runs to the end with loss and recall before and after; "Reload with
 * the new gate" brings the learned gate in, as the Models page then shows.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { GATE_WEIGHT_FILE } from '../../engine/plas/gate-weights.ts';
import { DEFAULT_MODEL_DIR } from '../../main/cli/default-model.ts';
import { bearer, http, readSse, startTestServer, type TestServer } from '../main/server/server-fixture.ts';
import { axeViolations, describeViolations, launchChromium, screenshot, watchErrors } from './browser.ts';

let server: TestServer;
let browser: Browser;
let dir: string;
let folder: string;
let page: Page;
let errors: string[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-e2e-gate-'));
  folder = join(dir, 'mini');
  await cp(DEFAULT_MODEL_DIR, folder, { recursive: true });
  await rm(join(folder, GATE_WEIGHT_FILE)); // it starts with mean pooling, so the learned gate shows after
  const [s, b] = await Promise.all([startTestServer(), launchChromium()]);
  server = s;
  browser = b;
  const added = await http(server.port, '/api/models', {
    method: 'POST',
    headers: bearer(server.token),
    body: { path: folder, name: 'mini' },
  });
  assert.equal(added.status, 201, added.body);
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
const section = () => page.getByRole('region', { name: 'Gate training' });

async function assertAccessible() {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, describeViolations(violations));
}

test('with no model loaded the section says so', async () => {
  await page.goto(`${server.url}/tuning?token=${server.token}`);
  await section().locator('[data-state="no-model"]').waitFor();
  assert.match(await text(section()), /No model is loaded\. Load one on the Models page/);
  assert.equal(await section().getByRole('button').count(), 0);
  // The Tuning page's own PLAS panel asks /api/plas, which is a 409 with no model loaded: Chromium logs that request.
  assert.ok(errors.splice(0).every((e) => /status of 409/.test(e)));
});

test('a training shows its progress and Cancel stops it without writing a gate', async () => {
  const load = await readSse(server.port, '/api/models/mini/load', { method: 'POST', headers: bearer(server.token) });
  assert.equal(load.events.at(-1)?.event, 'done');
  await page.reload();
  const s = section();
  await s.getByLabel('Tokens').fill('512');
  await s.getByLabel('Steps per layer').fill('5000');
  await s.getByRole('button', { name: 'Train the gate of mini' }).click();
  const phase = s.locator('[data-field="gate-phase"]');
  await phase
    .filter({ hasText: /Training layer \d of 4: step \d+ of 5000, loss (\d\.\d{4}|\d\.\d\de-\d)/ })
    .waitFor({ timeout: 60_000 });
  const bar = s.getByRole('progressbar', { name: 'Gate training progress' });
  assert.ok(Number(await bar.getAttribute('value')) > 0.25, 'the bar is past the capture phase');
  await s.getByText(/left/).waitFor();
  assert.equal(await s.getByLabel('Tokens').isDisabled(), true, 'the options are fixed while it runs');
  await assertAccessible();
  await s.scrollIntoViewIfNeeded(); // the page scrolls inside its shell: bring the section into the picture
  await screenshot(page, 'gate-training-progress');
  await s.getByRole('button', { name: 'Cancel training' }).click();
  await s.locator('[data-state="cancelled"]').waitFor();
  assert.match(await text(s.locator('[data-state="cancelled"]')), /Nothing was written/);
  assert.equal(existsSync(join(folder, GATE_WEIGHT_FILE)), false, 'a cancelled training writes no gate');
  assert.deepEqual(errors, []);
});

test('a tiny training runs to the end, and the reload brings in the learned gate', async () => {
  const s = section();
  await s.getByLabel('Steps per layer').fill('8');
  await s.getByRole('button', { name: 'Train the gate of mini' }).click();
  const done = s.locator('[data-state="done"]');
  await done.waitFor({ timeout: 90_000 });
  assert.equal(await done.locator('tbody tr').count(), 4, 'a row per layer');
  assert.match(
    await text(s.locator('[data-field="gate-loss"]')),
    /^(\d\.\d{4}|\d\.\d\de-\d) → (\d\.\d{4}|\d\.\d\de-\d)$/,
  );
  assert.match(await text(s.locator('[data-field="gate-recall"]')), /^\d+\.\d% → \d+\.\d%$/);
  assert.ok(existsSync(join(folder, GATE_WEIGHT_FILE)), 'the gate file is written');
  await assertAccessible();
  await s.getByRole('button', { name: 'Reload with the new gate' }).scrollIntoViewIfNeeded();
  await screenshot(page, 'gate-training-done');
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, 'gate-training-done-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  await s.getByRole('button', { name: 'Reload with the new gate' }).click();
  const now = s.locator('[data-field="gate-now"]');
  await now.waitFor({ timeout: 60_000 });
  assert.match(await text(now), /mini now runs learned gate on layers 0-3/);

  await page.getByRole('link', { name: 'Models', exact: true }).click();
  await page.locator('[data-field="models-gate"]', { hasText: 'Learned gate' }).waitFor();
  assert.deepEqual(errors, []);
});
