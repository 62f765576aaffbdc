/**
 * A model's tokenizer: text <-> token ids from tokenizer.json + tokenizer_config.json, and its chat template.
 *
 * Encoding and decoding run on @huggingface/tokenizers (tokenizers.js), chosen over the alternatives because:
 * - it is correct: on 1,500 random mixed-script strings (emoji, CJK, RTL, combining marks, whitespace runs, special
 *   tokens in text) its ids and decoded text equal the Rust `tokenizers` crate's for Qwen3 and Llama 3 (byte-level
 *   BPE), Mistral 7B (SentencePiece-style BPE with byte fallback, legacy Prepend normalizer) and the same
 *   vocabulary re-saved with the newer Metaspace pre-tokenizer. @lenml/tokenizers (a fork of the transformers.js v3
 *   tokenizer code) got 170 of 1,500 wrong on the Metaspace layout, e.g. a run of two spaces.
 * - it is light: ~100 kB, no dependencies. @huggingface/transformers bundles this same library but drags in
 *   onnxruntime-node, onnxruntime-web and sharp; @lenml/tokenizers is ~2 MB.
 * - it is HF's own, split out of transformers.js, so it follows the tokenizer.json format as HF evolves it.
 *
 * Differences from the library's defaults, on purpose:
 * - decode never applies clean_up_tokenization_spaces (Llama 3's config turns it on): it rewrites " ," to "," and
 *   so breaks round trips, and it is not prefix-stable, which streaming decode relies on.
 * - ids with no token (an embedding padded past the vocabulary, a corrupt id) decode to nothing, as in the Rust
 *   crate, instead of reaching the decoder as `undefined`.
 */

import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ChatTemplate } from './chat-template.ts';
import { ChatTemplateError, NoChatTemplateError, TokenizerLoadError } from './errors.ts';
import { parseTokenizerConfig, type TokenizerConfig } from './tokenizer-config.ts';
import { readTokenizerFolder, type TokenizerFiles } from './tokenizer-files.ts';
import { checkTokenizerJson } from './tokenizer-json.ts';

/**
 * One message as chat templates read it, in transformers' conventions: content is text, and an assistant's tool call
 * arguments are an object (templates write `arguments | tojson`). engine/chat builds these from a request's messages.
 */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** An assistant turn's tool calls; left out, not empty, when none (Llama 3.1 tests `'tool_calls' in message`). */
  tool_calls?: TemplateToolCall[];
  /** An assistant turn's reasoning (Qwen3's template reads reasoning_content). */
  reasoning_content?: string;
  /** Tool turns: the id of the call this answers. */
  tool_call_id?: string;
  /** The speaker's name; on tool turns the tool's name, for templates that print it. */
  name?: string;
}

export interface TemplateToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: Record<string, unknown> };
}

export interface ChatTemplateOptions {
  /** Append the opening of the assistant's turn (transformers' add_generation_prompt). Default false. */
  addGenerationPrompt?: boolean;
  /** Tool definitions (JSON schemas) for templates that support tools. */
  tools?: unknown[];
  /** More template variables, e.g. enable_thinking (Qwen3) or date_string (Llama 3.1); they win over ours. */
  extra?: Record<string, unknown>;
}

/** Mixed text run through the tokenizer once at load, so a pipeline stage that fails only when used fails there. */
const SMOKE_TEXT = 'Hello, world! 123 ünïcödé 日本語 😀\n\t end';

export class Tokenizer {
  /** One more than the largest token id, added tokens included: the size of the id space. */
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  /** The ids of tokenizer_config's eos_token; the engine adds generation_config's eos ids to these. */
  readonly eosTokenIds: number[];
  /** The default chat template's text, if the model has one. */
  readonly chatTemplate?: string;
  /**
   * tokenizer.json's decoder stage (null when none), which tells how token strings spell bytes (XGrammar's vocabulary
   * type: engine/grammar/tokenizer-vocab.ts vocabTypeOfDecoder). Kept because a GGUF model has no tokenizer.json.
   */
  readonly decoder: unknown;

  private readonly specialIds: Set<number>;
  private readonly templates: Map<string, ChatTemplate>;
  private readonly templateVariables: Record<string, string>;

  private constructor(
    private readonly lib: HfTokenizer,
    config: TokenizerConfig,
    templates: Map<string, ChatTemplate>,
    maxId: number,
    private readonly source: string,
    configFile: string,
    decoder: unknown,
  ) {
    this.decoder = decoder;
    const id = (name: 'bos_token' | 'eos_token'): number | undefined => {
      const token = config.specialTokens[name];
      if (token === undefined) return undefined;
      const found = lib.token_to_id(token);
      if (found === undefined) throw new TokenizerLoadError(configFile, `${name} "${token}" is not in the vocabulary`);
      return found;
    };
    this.bosTokenId = id('bos_token');
    const eos = id('eos_token');
    this.eosTokenIds = eos === undefined ? [] : [eos];

    // The same set the library skips by content: added tokens marked special, and the config's extra ones.
    this.specialIds = new Set();
    for (const [tokenId, token] of lib.get_added_tokens_decoder()) if (token.special) this.specialIds.add(tokenId);
    for (const token of config.additionalSpecialTokens) {
      const tokenId = lib.token_to_id(token);
      if (tokenId !== undefined) this.specialIds.add(tokenId);
    }

    this.vocabSize = maxId + 1;

    this.templates = templates;
    this.chatTemplate = templates.get('default')?.text;
    this.templateVariables = { ...config.specialTokens };
  }

  /** Loads tokenizer.json and tokenizer_config.json (and chat_template.jinja / chat_template.json) from `dir`. */
  static async fromFolder(dir: string): Promise<Tokenizer> {
    const files = await readTokenizerFolder(dir);
    return Tokenizer.fromJson(files.tokenizerJson, files.tokenizerConfig, dir, files.chatTemplateFile);
  }

  /**
   * Builds a tokenizer from the parsed (untrusted) JSON of both files. `source` is the folder they came from (or a
   * label): errors name `source`/tokenizer.json or `source`/tokenizer_config.json, or `labels` when given (a GGUF
   * file's tokenizer is built as these two objects from its metadata: engine/tokenizer/gguf-tokenizer.ts).
   */
  static fromJson(
    tokenizerJson: unknown,
    tokenizerConfig: unknown,
    source: string,
    chatTemplateFile?: TokenizerFiles['chatTemplateFile'],
    labels?: { tokenizerJson: string; tokenizerConfig: string },
  ): Tokenizer {
    const jsonFile = labels?.tokenizerJson ?? join(source, 'tokenizer.json');
    const configFile = labels?.tokenizerConfig ?? join(source, 'tokenizer_config.json');
    const checked = checkTokenizerJson(tokenizerJson, jsonFile);
    const config = parseTokenizerConfig(tokenizerConfig, configFile);

    let lib: HfTokenizer;
    try {
      lib = new HfTokenizer(checked.json, {
        // Only what the library reads, already checked; eos_token is used by Unigram models.
        ...config.specialTokens,
        additional_special_tokens: config.additionalSpecialTokens,
        remove_space: config.removeSpace,
        do_lowercase_and_remove_accent: config.lowercaseAndRemoveAccent,
        clean_up_tokenization_spaces: false,
      });
      const ids = lib.encode(SMOKE_TEXT).ids.filter(Number.isInteger);
      if (ids.length > 0) lib.decode(ids, { clean_up_tokenization_spaces: false });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new TokenizerLoadError(jsonFile, `the tokenizer library could not use it: ${message}`);
    }

    const templates = new Map<string, ChatTemplate>();
    if (chatTemplateFile) {
      for (const [name, text] of chatTemplateFile.templates) {
        const where = name === 'default' ? chatTemplateFile.source : `${chatTemplateFile.source} ("${name}")`;
        templates.set(name, new ChatTemplate(text, where));
      }
    } else {
      for (const [name, text] of config.chatTemplates) {
        const key = name === 'default' ? 'chat_template' : `chat_template "${name}"`;
        templates.set(name, new ChatTemplate(text, `${configFile} (${key})`));
      }
    }
    return new Tokenizer(lib, config, templates, checked.maxId, source, configFile, checked.json['decoder'] ?? null);
  }

  /**
   * Text to ids. Special and added tokens written in the text (e.g. "<|im_start|>") become their ids.
   * addSpecialTokens (default true, as in transformers) lets the post-processor add what the tokenizer.json says,
   * e.g. Mistral's <s>; pass false for a rendered chat template, which already writes them.
   */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[] {
    const ids = this.lib.encode(text, { add_special_tokens: options?.addSpecialTokens ?? true }).ids;
    // The library maps a piece it has no id for to the unknown token's id, `undefined` when the vocabulary has no
    // unknown token; drop those, as the Rust crate drops what it cannot spell, rather than hand out a non-id.
    return ids.every(Number.isInteger) ? ids : ids.filter(Number.isInteger);
  }

  /** Ids to text. skipSpecialTokens (default false) drops special tokens such as <|im_end|>. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string {
    const skip = options?.skipSpecialTokens ?? false;
    const kept = ids.filter((id) => this.lib.id_to_token(id) !== undefined && !(skip && this.specialIds.has(id)));
    if (kept.length === 0) return ''; // the library rejects an empty list
    return this.lib.decode(kept, { clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.lib.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.lib.id_to_token(id);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /**
   * Renders a conversation with the model's chat template, passing what transformers passes: messages,
   * add_generation_prompt, tools, the special token strings (bos_token, eos_token, unk_token, pad_token),
   * raise_exception and strftime_now, then `extra`. Throws NoChatTemplateError when the model has no template, and
   * ChatTemplateError (naming the template's file) when the template fails.
   */
  applyChatTemplate(messages: ChatMessage[], options: ChatTemplateOptions = {}): string {
    return this.pickTemplate(options.tools).render({
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      tools: options.tools ?? null,
      documents: null,
      ...this.templateVariables,
      ...options.extra,
    });
  }

  /** As transformers: with tools, a template named "tool_use" if there is one; otherwise "default". */
  private pickTemplate(tools: unknown[] | undefined): ChatTemplate {
    if (tools !== undefined && this.templates.has('tool_use')) return this.templates.get('tool_use')!;
    const template = this.templates.get('default');
    if (template) return template;
    const configSource = [...this.templates.values()][0]?.source;
    if (configSource === undefined) throw new NoChatTemplateError(this.source);
    const names = [...this.templates.keys()].map((n) => `"${n}"`).join(', ');
    throw new ChatTemplateError(configSource, `the model has chat templates named ${names} but none named "default"`);
  }
}
