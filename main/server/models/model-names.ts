/**
 * Model names: keys of the registry, shown in /v1/models and sent back in requests. They are never joined to a path,
 * but they are still kept to a plain alphabet (slashes allowed, for "org/model" names as the Hub spells them), so a
 * name cannot smuggle control characters into logs or a `..` into anything that might one day treat it as a path.
 */
import { basename } from 'node:path';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@+\-/]{0,127}$/;

export class ModelNameError extends Error {
  override name = 'ModelNameError';
}

export function checkModelName(name: string): string {
  if (!NAME.test(name) || name.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new ModelNameError(
      `name ${JSON.stringify(name)} is not a valid model name: 1-128 letters, digits and . _ : @ + - /, starting ` +
        'with a letter or digit, with no empty, "." or ".." part between slashes',
    );
  }
  return name;
}

/** A name from the folder's name ("Qwen3-0.6B"), made valid; `taken` says which are in use ("-2", "-3" appended). */
export function nameFromFolder(path: string, taken: (name: string) => boolean): string {
  let base = basename(path)
    .replace(/[^A-Za-z0-9._:@+-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 120);
  if (base === '') base = 'model';
  let name = base;
  for (let i = 2; taken(name); i++) name = `${base}-${i}`;
  return name;
}
