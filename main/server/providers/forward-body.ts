/**
 * The body a provider receives: the client's, with `model` set to the provider's own id and our `plas` extension
 * dropped (a provider other than PLAS Studio may refuse an unknown field, or ignore it silently); the note says so.
 */
import type { ProviderKind } from './provider-types.ts';

export interface ForwardBody {
  body: Buffer;
  stream: boolean;
  /** Why something was left out, for the x-plas-note header and `plas_note`; null when nothing was. */
  note: string | null;
}

export function forwardBody(
  client: Record<string, unknown>,
  provider: { name: string; kind: ProviderKind },
  model: string,
): ForwardBody {
  const { plas, ...rest } = client;
  // Another PLAS Studio knows the extension: it is its own request's business.
  const keepPlas = provider.kind === 'plas-studio';
  const note =
    plas !== undefined && !keepPlas
      ? `the "plas" field was not forwarded: provider "${provider.name}" (${provider.kind}) does not take PLAS ` +
        "Studio's extension, so its own attention settings applied"
      : null;
  const out = keepPlas && plas !== undefined ? { ...rest, plas, model } : { ...rest, model };
  return { body: Buffer.from(JSON.stringify(out)), stream: client.stream === true, note };
}
