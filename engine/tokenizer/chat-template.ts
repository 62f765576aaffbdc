/**
 * One chat template, rendered with @huggingface/jinja: a Jinja implementation made for chat templates (it lexes
 * with trim_blocks and lstrip_blocks on and has the filters and methods templates use, like transformers' Jinja
 * environment). Compiled on first use, so a model whose template is broken still loads and serves plain
 * completions; the error comes when a chat asks for the template.
 */

import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { ChatTemplateError } from './errors.ts';
import { strftime } from './strftime.ts';

/** Thrown by the template's raise_exception(); told apart from the library's own errors by its class. */
class TemplateRaised extends Error {}

/** Longest list range() makes: a template is untrusted input, and range(10**9) would exhaust memory. */
const MAX_RANGE = 1_000_000;

/** The library's own globals (its Template.render() sets the same), less the two we define differently. */
const GLOBALS: Record<string, unknown> = {
  true: true,
  false: false,
  none: null,
  True: true,
  False: false,
  None: null,
  range: (start: number, stop?: number, step = 1): number[] => {
    if (stop === undefined) [start, stop] = [0, start];
    if (step === 0) throw new Error('range() step must not be zero');
    const length = Math.max(0, Math.ceil((stop - start) / step));
    if (!(length <= MAX_RANGE)) throw new Error(`range() of ${length} numbers is more than ${MAX_RANGE}`);
    return Array.from({ length }, (_, i) => start + i * step);
  },
};

export class ChatTemplate {
  private compiled?: Template;
  private compileError?: ChatTemplateError;

  /** `source` names where the template came from (a file, or a file and key) for error messages. */
  constructor(
    readonly text: string,
    readonly source: string,
  ) {}

  /**
   * Renders with `variables` (messages, add_generation_prompt, bos_token, ...) on top of the globals transformers
   * gives every template, raise_exception(msg) and strftime_now(format) among them. A variable named strftime_now
   * replaces ours (tests pin the date that way).
   */
  render(variables: Record<string, unknown>): string {
    const template = this.compile();
    // Template.render() would declare the library's own raise_exception and strftime_now first, and a variable
    // cannot be declared twice; so build the environment here, as render() does, with ours.
    const env = new Environment();
    const values: Record<string, unknown> = {
      ...GLOBALS,
      strftime_now: (format: unknown) => strftime(new Date(), String(format)),
      ...variables,
      raise_exception: (message: unknown) => {
        throw new TemplateRaised(String(message));
      },
    };
    try {
      for (const [name, value] of Object.entries(values)) env.set(name, value);
      const out = new Interpreter(env).run(template.parsed).value;
      if (typeof out !== 'string') throw new Error(`the template produced ${typeof out}, not text`);
      return out;
    } catch (e) {
      if (e instanceof TemplateRaised) throw new ChatTemplateError(this.source, `the template raised: ${e.message}`);
      throw new ChatTemplateError(this.source, `error while rendering: ${errorMessage(e)}`);
    }
  }

  private compile(): Template {
    if (this.compiled) return this.compiled;
    if (this.compileError) throw this.compileError;
    try {
      this.compiled = new Template(this.text);
      return this.compiled;
    } catch (e) {
      this.compileError = new ChatTemplateError(this.source, `syntax error: ${errorMessage(e)}`);
      throw this.compileError;
    }
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
