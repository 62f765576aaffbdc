/**
 * Errors a caller of the tokenizer can branch on. Each names the file or template it came from, because a model
 * folder holds several JSON files and a chat template may come from any of three places.
 */

/** A tokenizer file is missing, is not JSON, or does not have the shape a tokenizer needs. */
export class TokenizerLoadError extends Error {
  override name = 'TokenizerLoadError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** A chat template failed: a syntax error, an error while rendering, or the template's own raise_exception(). */
export class ChatTemplateError extends Error {
  override name = 'ChatTemplateError';
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(`chat template from ${source}: ${detail}`);
  }
}

/** The model ships no chat template, so it cannot be used for chat (only for plain completions). */
export class NoChatTemplateError extends ChatTemplateError {
  override name = 'NoChatTemplateError';
  constructor(model: string) {
    super(model, 'none');
    this.message =
      `${model}: this model has no chat template (no chat_template in tokenizer_config.json, no ` +
      'chat_template.jinja, no chat_template.json), so it cannot be used for chat; use it for plain completions, ' +
      'or pick an instruct/chat variant of the model';
  }
}
