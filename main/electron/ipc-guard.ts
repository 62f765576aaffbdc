/**
 * Main's check of every IPC message before its handler runs: the sender must be one of our pages (the server's
 * origin, or the starting page while the server starts) and the arguments must be what the contract says. A refused
 * message throws IpcRefused, which Electron hands back to the page as a rejected promise; the handler never runs.
 */
import { ARGUMENT_CHECKS, isInvokeChannel } from './ipc-contract.ts';
import { isAppUrl } from './navigation-policy.ts';

export class IpcRefused extends Error {
  override readonly name = 'IpcRefused';
}

export interface Senders {
  /** The server's origin once it is ready (null before). */
  serverOrigin: string | null;
  /** The starting page's URL (a file: URL of ours). */
  startingPage: string;
}

/** Whether a message from a frame at `frameUrl` may be handled. Subframes are refused (the app has none). */
export function senderAllowed(frameUrl: string | undefined, isMainFrame: boolean, senders: Senders): boolean {
  if (!isMainFrame || frameUrl === undefined) return false;
  if (frameUrl === senders.startingPage) return true;
  return senders.serverOrigin !== null && isAppUrl(frameUrl, senders.serverOrigin);
}

/** Throws IpcRefused naming what is wrong; returns quietly when the message may be handled. */
export function checkMessage(
  channel: string,
  frameUrl: string | undefined,
  isMainFrame: boolean,
  args: readonly unknown[],
  senders: Senders,
): void {
  if (!isInvokeChannel(channel)) throw new IpcRefused(`unknown channel ${JSON.stringify(channel)}`);
  if (!senderAllowed(frameUrl, isMainFrame, senders)) {
    throw new IpcRefused(`${channel}: refused a message from ${frameUrl ?? 'an unknown frame'}`);
  }
  const why = ARGUMENT_CHECKS[channel](args);
  if (why !== null) throw new IpcRefused(`${channel}: ${why}`);
}
