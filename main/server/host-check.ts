/**
 * DNS-rebinding protection: a page on evil.example that resolves its name to 127.0.0.1 must not reach the server,
 * so only requests whose Host header names a loopback address (or a host the user allowed) are served.
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from './http-error.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function hostAllowed(hostHeader: string | undefined, allowed: readonly string[] = []): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0];
  return LOOPBACK.has(host.toLowerCase()) || allowed.includes(host.toLowerCase());
}

/** 403 (OpenAI's error shape) for every request whose Host header is neither loopback nor allowed. */
export function registerHostCheck(app: FastifyInstance, allowed: readonly string[] = []): void {
  const hosts = allowed.map((h) => h.toLowerCase());
  app.addHook('onRequest', async (request) => {
    if (!hostAllowed(request.headers.host, hosts)) {
      throw new HttpError(
        403,
        `Host ${request.headers.host ?? '(none)'} is not allowed (add it with --allowed-host)`,
        'permission_error',
        null,
        'host_not_allowed',
      );
    }
  });
}
