/**
 * What the desktop window may load, open and ask for. The window shows the local server's app and nothing else:
 * - navigation stays on the server's origin (the app's own pages); an http(s) link elsewhere opens in the system
 *   browser, anything else (file:, javascript:, custom schemes) is refused;
 * - window.open never makes an Electron window: http(s) URLs go to the system browser, the rest is refused;
 * - permission requests are refused, except writing the clipboard from the app (its Copy buttons).
 * Pure functions of URLs and names, so the rules are tested in plain Node (main.ts applies them).
 */

export type NavigationDecision = { action: 'allow' } | { action: 'deny' } | { action: 'open-external'; url: string };

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** The URL as the system browser should get it, or null when it is not plain http(s) (or carries credentials). */
export function externalUrl(url: string): string | null {
  const u = parse(url);
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) return null;
  if (u.username !== '' || u.password !== '') return null; // "http://bank.com@evil.example" tricks
  return u.href;
}

/** Whether `url` is one of the app's own pages: exactly the server's origin (scheme, host and port). */
export function isAppUrl(url: string, serverOrigin: string): boolean {
  const u = parse(url);
  return u !== null && u.origin === serverOrigin;
}

/** A navigation of the window (a link, a form, location.href =). */
export function decideNavigation(url: string, serverOrigin: string | null, startingPage: string): NavigationDecision {
  if (url === startingPage) return { action: 'allow' };
  if (serverOrigin !== null && isAppUrl(url, serverOrigin)) return { action: 'allow' };
  const external = externalUrl(url);
  return external ? { action: 'open-external', url: external } : { action: 'deny' };
}

/** window.open or target=_blank: never a new Electron window. */
export function decideWindowOpen(url: string): NavigationDecision {
  const external = externalUrl(url);
  return external ? { action: 'open-external', url: external } : { action: 'deny' };
}

/** Permissions the app's pages may have: writing the clipboard (Copy buttons). Cameras, notifications... never. */
const ALLOWED_PERMISSIONS = new Set(['clipboard-sanitized-write']);

export function permissionAllowed(permission: string, requestingUrl: string, serverOrigin: string | null): boolean {
  return serverOrigin !== null && ALLOWED_PERMISSIONS.has(permission) && isAppUrl(requestingUrl, serverOrigin);
}
