/**
 * Reads a model folder's tokenizer files: tokenizer.json and tokenizer_config.json (both required), and a chat
 * template kept beside them. Newer transformers saves the template as chat_template.jinja; multimodal processors
 * save chat_template.json ({"chat_template": ...}). When present, these replace the chat_template in
 * tokenizer_config.json, in that order of precedence, as transformers does when it loads the folder.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenizerLoadError } from './errors.ts';
import { describe, isObject } from './json-shape.ts';
import { chatTemplates } from './tokenizer-config.ts';

export interface TokenizerFiles {
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
  /** A template from chat_template.jinja or chat_template.json, with the file it came from. */
  chatTemplateFile?: { templates: Map<string, string>; source: string };
}

export async function readTokenizerFolder(dir: string): Promise<TokenizerFiles> {
  // Read side by side, but report failures in this order (tokenizer.json first), never whichever read lost a race.
  const settled = await Promise.allSettled([
    readJson(join(dir, 'tokenizer.json')),
    readJson(join(dir, 'tokenizer_config.json')),
    readOptional(join(dir, 'chat_template.jinja')),
    readOptional(join(dir, 'chat_template.json')),
  ]);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  const [tokenizerJson, tokenizerConfig, jinja, templateJson] = settled.map(
    (r) => (r as PromiseFulfilledResult<unknown>).value,
  ) as [unknown, unknown, Awaited<ReturnType<typeof readOptional>>, Awaited<ReturnType<typeof readOptional>>];
  const files: TokenizerFiles = { tokenizerJson, tokenizerConfig };
  if (jinja !== undefined) {
    files.chatTemplateFile = { templates: new Map([['default', jinja.text]]), source: jinja.path };
  } else if (templateJson !== undefined) {
    const fail = (detail: string) => new TokenizerLoadError(templateJson.path, detail);
    const json = parseJson(templateJson.text, templateJson.path);
    if (!isObject(json)) throw fail(`expected a JSON object, found ${describe(json)}`);
    const templates = chatTemplates(json['chat_template'], 'chat_template', fail);
    if (templates.size === 0) throw fail('has no "chat_template"');
    files.chatTemplateFile = { templates, source: templateJson.path };
  }
  return files;
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new TokenizerLoadError(path, readFailure(e));
  }
  return parseJson(text, path);
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerLoadError(path, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

async function readOptional(path: string): Promise<{ text: string; path: string } | undefined> {
  try {
    return { text: await readFile(path, 'utf8'), path };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TokenizerLoadError(path, readFailure(e));
  }
}

function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found (a tokenizer folder needs tokenizer.json and tokenizer_config.json)';
  if (code === 'EISDIR') return 'is a directory, expected a file';
  return `cannot be read (${e instanceof Error ? e.message : String(e)})`;
}
