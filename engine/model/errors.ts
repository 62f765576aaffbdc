/**
 * Errors a caller of the model loader can branch on (the UI shows "unsupported model" differently from "corrupt
 * file"). Every message starts with the file it is about, so a user can find and fix (or re-download) that file.
 */

/** config.json names an architecture this engine has no forward pass for. */
export class UnsupportedArchitectureError extends Error {
  override name = 'UnsupportedArchitectureError';
  constructor(
    readonly source: string,
    readonly architecture: string,
    readonly supported: readonly string[],
  ) {
    super(`${source}: unsupported architecture ${architecture} (supported: ${supported.join(', ')})`);
  }
}

/** A field of config.json or generation_config.json is missing, of the wrong type, out of range or unsupported. */
export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
  constructor(
    readonly source: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${source}: ${detail}`);
  }
}

/** A .safetensors file is truncated, malformed or holds a dtype the engine cannot load. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** The weights of a model folder do not fit together: no weight file, a bad shard index, a missing or misshapen tensor. */
export class ModelWeightsError extends Error {
  override name = 'ModelWeightsError';
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(`${source}: ${detail}`);
  }
}
