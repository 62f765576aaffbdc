/**
 * Errors the pages show: the server's own message (it answers in OpenAI's `{error: {message, code}}` shape), put in
 * plain words for the cases a newcomer meets first.
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

const PLAIN: Record<string, string> = {
  invalid_token:
    'This page has no valid access token. Open it from the PLAS Studio window, or from the address (with ?token=) that plas serve printed when it started.',
  invalid_api_key:
    'The server needs an API key. Open this page from the address (with ?token=) that plas serve printed when it started.',
  model_not_found: 'That model is not registered on this server. Pick another on the Models page.',
  model_busy: 'Another model is busy answering. Wait for it to finish, then try again.',
  no_model_loaded: 'No model is loaded. Load one on the Models page.',
};

/** The plain words for an error code (the page shows them without asking the server, e.g. when it has no token). */
export function describeCode(code: keyof typeof PLAIN): string {
  return PLAIN[code];
}

/** An ApiError from a failed response (JSON error body or plain text). */
export async function errorFrom(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const e = JSON.parse(text).error as { message?: string; code?: string | null };
    return errorFromBody(e, response.status);
  } catch {
    return new ApiError(text || `the server answered ${response.status} ${response.statusText}`, response.status);
  }
}

export function errorFromBody(e: { message?: string; code?: string | null } | undefined, status = 500): ApiError {
  const code = e?.code ?? null;
  const message = (code && PLAIN[code]) || e?.message || `the server answered ${status}`;
  return new ApiError(message, status, code);
}

/** What to show for any thrown value; fetch's own failures mean the server is not reachable. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return 'Cannot reach the PLAS Studio server. Is it still running?';
  return error instanceof Error ? error.message : String(error);
}
