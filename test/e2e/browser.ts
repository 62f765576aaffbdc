/**
 * Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core (a test tool's own browser
 * download cannot happen on these machines). A missing browser fails the tests, never skips them: CI installs it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(import.meta.dirname, 'artifacts');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the browser tests need Chromium at ${CHROMIUM}: apt-get install chromium (Debian 12)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/** Console errors, uncaught exceptions and CSP violations of a page, gathered from its start. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  return errors;
}

/**
 * A PNG of the whole page. The app scrolls inside <main> (the header stays put), so a "full page" screenshot would stop
 * at the window's height: the window is made as tall as <main>'s content for the shot, then put back.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  const size = page.viewportSize();
  const height = (await page.evaluate(
    "(() => { const m = document.querySelector('main'); return m ? Math.ceil(m.getBoundingClientRect().top + m.scrollHeight) : 0; })()",
  )) as number;
  const taller = size !== null && height > size.height;
  if (taller) await page.setViewportSize({ width: size.width, height: Math.min(height, 8000) });
  await page.screenshot({ path, fullPage: true });
  if (taller) await page.setViewportSize(size);
  return path;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * axe-core's serious and critical violations on the page as it is now. The script is evaluated through the DevTools
 * protocol, which the page's CSP does not govern (a <script> tag with its text would be refused, rightly).
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  // A string, run in the page: this file is type-checked without the DOM's globals.
  const violations = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export const describeViolations = (vs: AxeViolation[]) =>
  vs.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`).join('\n');
