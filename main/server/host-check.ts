/**
 * DNS-rebinding protection: a page on evil.example that resolves its name to 127.0.0.1 must not reach the server,
 * so only requests whose Host header names a loopback address (or a host the user allowed) are served.
 */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function hostAllowed(hostHeader: string | undefined, allowed: readonly string[] = []): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0];
  return LOOPBACK.has(host.toLowerCase()) || allowed.includes(host.toLowerCase());
}
