/** Why a pull failed, in words a user can act on (the CLI prints the message; the server sends it as the SSE error). */

export class PullError extends Error {
  override name = 'PullError';
  constructor(
    message: string,
    /** auth: log in (HF_TOKEN); forbidden: ask for access; not_found; checksum; network; cancelled; bad_answer. */
    readonly code:
      | 'auth'
      | 'forbidden'
      | 'not_found'
      | 'checksum'
      | 'network'
      | 'cancelled'
      | 'bad_answer'
      | 'no_files',
  ) {
    super(message);
  }
}

/** The PullError for a refused hub request (`what`: "the model Qwen/Qwen3-0.6B", "the file x.gguf"). */
export function refusal(status: number, what: string, endpoint: string, hasToken: boolean): PullError {
  if (status === 401) {
    return new PullError(
      hasToken
        ? `${endpoint} refused HF_TOKEN for ${what} (401): the token is invalid or expired; make a new one at ` +
            'https://huggingface.co/settings/tokens'
        : `${what} needs a Hugging Face login (401: the model is gated or private): set HF_TOKEN to an access token ` +
            'from https://huggingface.co/settings/tokens, after accepting the model’s terms on its page',
      'auth',
    );
  }
  if (status === 403) {
    return new PullError(
      `${endpoint} refused ${what} (403): this account has no access yet; accept the model’s terms on its hub page`,
      'forbidden',
    );
  }
  if (status === 404)
    return new PullError(`${what} was not found on ${endpoint} (404): check the name and revision`, 'not_found');
  return new PullError(`${endpoint} answered ${status} for ${what}`, 'network');
}
