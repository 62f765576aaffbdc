/** A GGUF file is malformed, truncated, or describes something this engine cannot run. */
export class GgufError extends Error {
  override name = 'GgufError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}
