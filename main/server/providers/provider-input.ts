/**
 * What a user may enter for a provider, checked before anything is stored or contacted: the name (the prefix of its
 * models), the base URL (http or https, no credentials, query or fragment), the kind. Errors are 400s naming the field.
 */

import { HttpError } from '../http-error.ts';
import { PROVIDER_KINDS, type ProviderKind } from './provider-types.ts';

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const MAX_URL = 2048;
const MAX_KEY = 4096;

const bad = (param: string, message: string) => new HttpError(400, message, 'invalid_request_error', param);

export function checkProviderName(name: string): string {
  if (!NAME.test(name)) {
    throw bad(
      'name',
      `name: ${JSON.stringify(name.slice(0, 40))} is not a provider name (1-32 of a-z, 0-9, "_" and "-", starting ` +
        'with a letter or digit; it becomes the prefix of its models, "NAME/MODEL")',
    );
  }
  return name;
}

/** http(s)://host[:port][/path], without a trailing slash; ".../v1" is kept as typed. */
export function normalizeBaseUrl(raw: string): string {
  const text = raw.trim();
  let url: URL;
  try {
    if (text.length > MAX_URL) throw new Error('too long');
    url = new URL(text);
  } catch {
    throw bad('baseUrl', `baseUrl: ${JSON.stringify(text.slice(0, 80))} is not a URL (e.g. http://gpu-box:8000/v1)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw bad('baseUrl', `baseUrl: must start with http:// or https://, got ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw bad('baseUrl', 'baseUrl: must not hold a user name or password (put the key in apiKey, stored encrypted)');
  }
  if (url.search || url.hash) throw bad('baseUrl', 'baseUrl: must not have a query (?) or fragment (#)');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export function checkKind(kind: string | undefined): ProviderKind {
  if (kind === undefined) return 'openai';
  if (!(PROVIDER_KINDS as readonly string[]).includes(kind)) {
    throw bad('kind', `kind: must be one of ${PROVIDER_KINDS.join(', ')}; got ${JSON.stringify(kind)}`);
  }
  return kind as ProviderKind;
}

export function checkApiKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  // A header value: control characters would let a key inject headers into the request to the provider.
  if (key.length > MAX_KEY || /[\p{Cc}]/u.test(key)) {
    throw bad('apiKey', `apiKey: must be at most ${MAX_KEY} characters without control characters`);
  }
  return key.trim();
}

/** The OpenAI API root of a base URL: as typed when it ends in /v1, else with /v1 added. */
export function apiRoot(baseUrl: string): string {
  return /\/v1$/.test(baseUrl) ? baseUrl : `${baseUrl}/v1`;
}
