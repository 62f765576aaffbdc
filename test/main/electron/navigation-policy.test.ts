import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decideNavigation,
  decideWindowOpen,
  externalUrl,
  isAppUrl,
  permissionAllowed,
} from '../../../main/electron/navigation-policy.ts';

const SERVER = 'http://127.0.0.1:41234';
const STARTING = 'file:///opt/PLAS%20Studio/resources/app.asar/build/electron/starting.html';

test("the window navigates within the server's origin and to the starting page only", () => {
  assert.deepEqual(decideNavigation(`${SERVER}/models`, SERVER, STARTING), { action: 'allow' });
  assert.deepEqual(decideNavigation(`${SERVER}/?token=abc`, SERVER, STARTING), { action: 'allow' });
  assert.deepEqual(decideNavigation(STARTING, SERVER, STARTING), { action: 'allow' });
  // Another port, host or scheme is not the app, even on loopback.
  for (const url of ['http://127.0.0.1:41235/', 'http://localhost:41234/', 'https://127.0.0.1:41234/']) {
    assert.equal(decideNavigation(url, SERVER, STARTING).action, 'open-external', url);
  }
  // Before the server is ready, nothing but the starting page.
  assert.equal(decideNavigation(`${SERVER}/`, null, STARTING).action, 'open-external');
});

test('links elsewhere open in the system browser, http and https only; other schemes are refused', () => {
  assert.deepEqual(decideNavigation('https://example.com/docs?a=1', SERVER, STARTING), {
    action: 'open-external',
    url: 'https://example.com/docs?a=1',
  });
  for (const url of [
    'file:///etc/passwd',
    'javascript:alert(1)',
    'data:text/html,<script>1</script>',
    'smb://host/share',
    'vscode://open',
    'ftp://example.com/',
    'not a url',
    'file:///opt/PLAS%20Studio/resources/app.asar/build/electron/other.html',
  ]) {
    assert.deepEqual(decideNavigation(url, SERVER, STARTING), { action: 'deny' }, url);
    assert.deepEqual(decideWindowOpen(url), { action: 'deny' }, url);
  }
  assert.equal(externalUrl('http://user:pass@example.com/'), null, 'credentials in a URL are a spoofing trick');
});

test('window.open never makes an app window: http(s) goes to the browser, the app origin too', () => {
  assert.deepEqual(decideWindowOpen('https://github.com/'), { action: 'open-external', url: 'https://github.com/' });
  assert.deepEqual(decideWindowOpen(`${SERVER}/chat`), { action: 'open-external', url: `${SERVER}/chat` });
});

test('permissions are refused except the clipboard write from the app itself', () => {
  assert.equal(permissionAllowed('clipboard-sanitized-write', `${SERVER}/chat`, SERVER), true);
  assert.equal(permissionAllowed('clipboard-sanitized-write', 'https://evil.example/', SERVER), false);
  assert.equal(permissionAllowed('clipboard-sanitized-write', `${SERVER}/chat`, null), false);
  for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'fullscreen']) {
    assert.equal(permissionAllowed(p, `${SERVER}/chat`, SERVER), false, p);
  }
  assert.equal(isAppUrl('garbage', SERVER), false);
});
