/**
 * The starting page's script: shows the server's status (ipc-contract.ts ServerStatus) sent by main while the server
 * starts and the launch model loads, and after a crash loop the log's last lines with a Retry button.
 */
import type { DesktopApi, ServerStatus } from './ipc-contract.ts';

const desktop = (globalThis as unknown as { plasDesktop: DesktopApi }).plasDesktop;
const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusLine = byId<HTMLParagraphElement>('status');
const progress = byId<HTMLProgressElement>('progress');
const failure = byId<HTMLElement>('failure');

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

function show(s: ServerStatus): void {
  failure.hidden = s.state !== 'failed';
  progress.hidden = s.state !== 'loading-model';
  if (s.state === 'starting') {
    statusLine.textContent =
      s.attempt > 1 ? `Starting the server again (attempt ${s.attempt})…` : 'Starting the server…';
  } else if (s.state === 'loading-model') {
    progress.max = Math.max(1, s.total);
    progress.value = s.loaded;
    statusLine.textContent = `Loading ${s.model}: ${mib(s.loaded)} of ${mib(s.total)}`;
  } else if (s.state === 'restarting') {
    statusLine.textContent = `The server stopped (${s.exit}); restarting in ${Math.ceil(s.inMs / 1000)} s…`;
  } else {
    statusLine.textContent = '';
    byId('failure-message').textContent = s.message;
    byId('failure-log').textContent = s.lastLines.join('\n');
  }
}

desktop.onServerStatus(show);
byId<HTMLButtonElement>('retry').addEventListener('click', () => void desktop.retryServer());
