/**
 * What can go wrong talking to a provider, as OpenAI-shaped errors that name it (notes/providers.md): unreachable
 * (502), timeout (504), redirect (502, never followed: the key would go to another host), disabled (503), or the
 * provider's own error (its status, its message). A provider's message is read from OpenAI's shape, vLLM's
 * `{"object":"error","message",...}`, FastAPI's `{"detail"}` or Ollama's `{"error": "..."}`, and the key is cut out
 * of anything that could echo it.
 */
import { type ErrorType, HttpError } from '../http-error.ts';

export type ProviderFailureKind = 'unreachable' | 'timeout' | 'redirect' | 'disabled';

const STATUS: Record<ProviderFailureKind, number> = { unreachable: 502, timeout: 504, redirect: 502, disabled: 503 };
const TYPE: Record<ProviderFailureKind, ErrorType> = {
  unreachable: 'server_error',
  timeout: 'server_error',
  redirect: 'server_error',
  disabled: 'service_unavailable_error',
};

/** A failure before or while a provider answered; `reason` is a clause without the provider's name. */
export class ProviderFailure extends Error {
  override name = 'ProviderFailure';
  constructor(
    readonly provider: string,
    readonly kind: ProviderFailureKind,
    readonly reason: string,
  ) {
    super(`Provider "${provider}": ${reason}`);
  }

  toHttpError(): HttpError {
    return new HttpError(STATUS[this.kind], this.message, TYPE[this.kind], null, `provider_${this.kind}`);
  }
}

/** The error a network failure (a Node errno) amounts to, said plainly. */
export function networkReason(error: NodeJS.ErrnoException, origin: string): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return `connection refused at ${origin} (is the server running, on that port?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found: ${new URL(origin).hostname}`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection to ${origin} was closed by the other side`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${origin} is unreachable from this computer`;
    default:
      if (error.code?.startsWith('ERR_TLS') || error.code?.includes('CERT')) {
        return `TLS failed with ${origin}: ${error.message}`;
      }
      return `cannot reach ${origin}: ${error.message}`;
  }
}

/** Cuts the key (and its Bearer form) out of a text from elsewhere, so no message can carry it on. */
export function redact(text: string, key: string | null): string {
  if (!key || key.length < 4) return text;
  return text.split(key).join('[redacted]');
}

const typeOfStatus = (status: number): ErrorType =>
  status === 401
    ? 'authentication_error'
    : status === 403
      ? 'permission_error'
      : status === 404
        ? 'not_found_error'
        : status === 429
          ? 'rate_limit_error'
          : status === 503
            ? 'service_unavailable_error'
            : status >= 500
              ? 'server_error'
              : 'invalid_request_error';

const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : null);

/** The message and param of a provider's error body, whatever server wrote it. */
function describeBody(body: string): { message: string | null; param: string | null } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    const plain = body.trim().slice(0, 300);
    return { message: plain.length > 0 && !plain.startsWith('<') ? plain : null, param: null };
  }
  if (typeof json !== 'object' || json === null) return { message: null, param: null };
  const o = json as Record<string, unknown>;
  const nested = typeof o.error === 'object' && o.error !== null ? (o.error as Record<string, unknown>) : null;
  if (nested) return { message: text(nested.message), param: text(nested.param) };
  if (text(o.error)) return { message: text(o.error), param: null }; // Ollama, llama-server
  if (text(o.message)) return { message: text(o.message), param: text(o.param) }; // vLLM, SGLang
  if (Array.isArray(o.detail)) {
    const first = o.detail[0] as { msg?: unknown; loc?: unknown } | undefined;
    const loc = Array.isArray(first?.loc) ? first.loc.filter((p) => p !== 'body').join('.') : null;
    return { message: text(first?.msg), param: loc || null };
  }
  return { message: text(o.detail), param: null };
}

/** A provider's non-2xx answer as our error: its status, its message after `Provider "NAME": `. */
export function providerHttpError(provider: string, status: number, body: string, key: string | null): HttpError {
  const { message, param } = describeBody(body);
  const said = message ?? `answered HTTP ${status} without a message`;
  const clipped = said.length > 1000 ? `${said.slice(0, 1000)}…` : said;
  return new HttpError(
    status >= 400 && status < 600 ? status : 502,
    redact(`Provider "${provider}": ${clipped}`, key),
    typeOfStatus(status),
    param,
    'provider_error',
  );
}
