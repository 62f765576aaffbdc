/**
 * One HTTP request to a provider, with node:http(s) (no dependency beyond Node, and every stage under our control):
 * - stated timeouts: connection (connectMs), response headers (firstByteMs), each body chunk (idleMs, readBody and
 *   the proxy's pump use it); each ends in a ProviderFailure('timeout') saying which stage and how long;
 * - redirects are never followed (node:http does not follow them): a 3xx is a ProviderFailure('redirect') naming
 *   only the Location's origin, so the key is never sent to a host the user did not enter;
 * - `signal` (the client's disconnect) destroys the request, and with it the connection: the provider sees it close.
 * Only the headers given are sent: never the client's own Authorization (our API key or management token).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { networkReason, ProviderFailure } from './provider-errors.ts';
import type { ProviderTimeouts } from './provider-types.ts';

/** Kept-alive connections: a request to a provider that was used a moment ago skips the TCP (and TLS) handshake. */
const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxFreeSockets: 16, noDelay: true }),
  'https:': new HttpsAgent({ keepAlive: true, maxFreeSockets: 16, noDelay: true }),
};

export interface UpstreamRequest {
  provider: string;
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: Buffer;
  timeouts: Pick<ProviderTimeouts, 'connectMs' | 'firstByteMs'>;
  signal?: AbortSignal;
}

export class ClientGoneError extends Error {
  override name = 'ClientGoneError';
  constructor() {
    super('the client closed the connection');
  }
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** A kept-alive socket the provider had closed meanwhile: the request never reached it, so it is sent again once. */
class StaleSocketError extends Error {}

/** The provider's response once its headers came (any status but 3xx); reject with a ProviderFailure. */
export async function openUpstream(r: UpstreamRequest): Promise<IncomingMessage> {
  try {
    return await attempt(r);
  } catch (error) {
    if (error instanceof StaleSocketError) return attempt(r, false);
    throw error;
  }
}

function attempt(r: UpstreamRequest, mayRetry = true): Promise<IncomingMessage> {
  const origin = r.url.origin;
  return new Promise((resolve, reject) => {
    if (r.signal?.aborted) return reject(new ClientGoneError());
    const send = r.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { ...r.headers, 'accept-encoding': 'identity' };
    if (r.body) headers['content-length'] = String(r.body.length);
    const req = send(r.url, { method: r.method, headers, agent: agents[r.url.protocol as 'http:' | 'https:'] });
    let settled = false;
    let timer: NodeJS.Timeout | null = null;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      r.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      reject(error);
    };
    const onAbort = () => fail(new ClientGoneError());
    r.signal?.addEventListener('abort', onAbort, { once: true });
    const stage = (ms: number, reason: string) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => fail(new ProviderFailure(r.provider, 'timeout', reason)), ms);
    };
    const waitForHeaders = () =>
      stage(r.timeouts.firstByteMs, `no answer from ${origin} within ${seconds(r.timeouts.firstByteMs)}`);
    stage(r.timeouts.connectMs, `no connection to ${origin} within ${seconds(r.timeouts.connectMs)}`);
    req.once('socket', (socket) => {
      // A kept-alive socket is connected already.
      if (!socket.connecting) return waitForHeaders();
      socket.once(r.url.protocol === 'https:' ? 'secureConnect' : 'connect', waitForHeaders);
    });
    req.once('error', (error: NodeJS.ErrnoException) => {
      // Node's advice for kept-alive sockets: a reset on a reused one, before any answer, is the idle close racing us.
      if (mayRetry && req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
        return fail(new StaleSocketError());
      }
      fail(new ProviderFailure(r.provider, 'unreachable', networkReason(error, origin)));
    });
    req.once('response', (res) => {
      if (settled) return res.destroy();
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        const location = res.headers.location;
        let where = 'another address';
        try {
          if (location) where = new URL(location, r.url).origin;
        } catch {}
        return fail(
          new ProviderFailure(
            r.provider,
            'redirect',
            `${origin} answered with a redirect (${status}) to ${where}; it was not followed, so the API key was ` +
              'not sent there (set the base URL to the address the provider really serves at)',
          ),
        );
      }
      settled = true;
      if (timer) clearTimeout(timer);
      r.signal?.removeEventListener('abort', onAbort);
      // From now on the caller owns the response; its disconnect must still end the upstream request.
      if (r.signal) {
        const destroy = () => req.destroy();
        r.signal.addEventListener('abort', destroy, { once: true });
        res.once('close', () => r.signal?.removeEventListener('abort', destroy));
      }
      resolve(res);
    });
    req.end(r.body);
  });
}

/**
 * Calls `onChunk` for each chunk of a response body, failing with a timeout when none comes within idleMs;
 * resolves at the end. `limit` caps the bytes read (the rest fails as a provider error).
 */
export function readBody(
  res: IncomingMessage,
  provider: string,
  idleMs: number,
  limit = 64 * 1024 * 1024,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout;
    const idle = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        res.destroy();
        reject(new ProviderFailure(provider, 'timeout', `its answer stalled for ${seconds(idleMs)}`));
      }, idleMs);
    };
    idle();
    res.on('data', (chunk: Buffer) => {
      idle();
      size += chunk.length;
      if (size > limit) {
        clearTimeout(timer);
        res.destroy();
        reject(new ProviderFailure(provider, 'unreachable', `its answer is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    res.once('error', (error) => {
      clearTimeout(timer);
      reject(new ProviderFailure(provider, 'unreachable', `its answer broke off: ${error.message}`));
    });
    res.once('close', () => {
      clearTimeout(timer);
      if (!res.complete) reject(new ProviderFailure(provider, 'unreachable', 'its answer broke off'));
    });
  });
}
