import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ARGUMENT_CHECKS, IPC_CHANNELS, isInvokeChannel } from '../../../main/electron/ipc-contract.ts';
import { checkMessage, IpcRefused, type Senders, senderAllowed } from '../../../main/electron/ipc-guard.ts';

const senders: Senders = { serverOrigin: 'http://127.0.0.1:41234', startingPage: 'file:///app/starting.html' };

test("messages from the app's pages and the starting page are handled", () => {
  for (const channel of Object.keys(ARGUMENT_CHECKS)) {
    assert.doesNotThrow(() => checkMessage(channel, 'http://127.0.0.1:41234/models', true, [], senders), channel);
    assert.doesNotThrow(() => checkMessage(channel, 'file:///app/starting.html', true, [], senders), channel);
  }
});

test('a message from another origin, a subframe or an unknown frame is refused with the reason', () => {
  const bad: [string | undefined, boolean][] = [
    ['https://evil.example/', true],
    ['http://127.0.0.1:41235/', true], // another local server
    ['file:///app/other.html', true],
    ['http://127.0.0.1:41234/', false], // an iframe inside the app
    [undefined, true],
  ];
  for (const [url, main] of bad) {
    assert.equal(senderAllowed(url, main, senders), false, String(url));
    assert.throws(
      () => checkMessage(IPC_CHANNELS.pickModelFolder, url, main, [], senders),
      (e: unknown) => e instanceof IpcRefused && /refused a message from/.test(e.message),
    );
  }
  // Before the server is ready its origin is not known: only the starting page may talk.
  const early: Senders = { ...senders, serverOrigin: null };
  assert.equal(senderAllowed('http://127.0.0.1:41234/', true, early), false);
});

test('arguments the contract does not take, and unknown channels, are refused', () => {
  assert.throws(
    () => checkMessage(IPC_CHANNELS.revealDataDir, 'http://127.0.0.1:41234/', true, ['/etc'], senders),
    /plas:reveal-data-dir: takes no arguments \(got 1\)/,
  );
  assert.throws(
    () =>
      checkMessage(IPC_CHANNELS.pickModelFolder, 'http://127.0.0.1:41234/', true, [{ defaultPath: '/' }, 2], senders),
    /takes no arguments \(got 2\)/,
  );
  assert.throws(
    () => checkMessage('plas:exec', 'http://127.0.0.1:41234/', true, [], senders),
    /unknown channel "plas:exec"/,
  );
  assert.equal(isInvokeChannel('__proto__'), false);
  assert.equal(isInvokeChannel('toString'), false);
  // The status channel goes from main to the page: pages cannot invoke it.
  assert.equal(isInvokeChannel(IPC_CHANNELS.serverStatus), false);
});
