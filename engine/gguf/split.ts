/**
 * Split GGUF models, as llama.cpp's gguf-split writes them: `<prefix>-00001-of-00003.gguf` ... `-00003-of-00003.gguf`,
 * every part a complete GGUF file with `split.no` (u16, from 0), `split.count` (u16) and, `split.tensors.count` (i32,
 * the tensors of all parts); the first part carries the model's metadata, the others only the split keys. Tensors
 * are spread over the parts, each whole in one part.
 *
 * openGgufModel opens a model by the path of any of its parts (or a plain .gguf file) as one GgufFile: each part is
 * read and checked as a single file is (reader.ts), then the parts are checked against each other: every part
 * present, each saying it is part i of the same count, no tensor in two parts, the tensor total as part 1 says. A
 * problem names the part.
 */
import { access } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GgufError } from './errors.ts';
import { type GgufFile, type GgufLimits, openGguf } from './reader.ts';
import type { GgufValue } from './values.ts';

/** llama.cpp's split_path format: "%s-%05d-of-%05d.gguf". */
const SPLIT_NAME = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

export const SPLIT_KEYS = { no: 'split.no', count: 'split.count', tensors: 'split.tensors.count' } as const;

/** The most parts a model may have (gguf-split writes a u16 count; real models have a few dozen at most). */
const MAX_PARTS = 1024;

export interface SplitName {
  prefix: string;
  /** 1-based, as in the file name. */
  part: number;
  count: number;
}

/** The parts a file name says it belongs to, or null for a name that is not a split part's. */
export function parseSplitName(path: string): SplitName | null {
  const m = SPLIT_NAME.exec(basename(path));
  if (!m) return null;
  return { prefix: join(dirname(path), m[1]), part: Number(m[2]), count: Number(m[3]) };
}

/** The path of part `part` (1-based) of `count`. */
export function splitPartPath(prefix: string, part: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${prefix}-${pad(part)}-of-${pad(count)}.gguf`;
}

/** A split key's value as a number, or undefined when absent; a key of another type is an error naming the part. */
function splitValue(file: GgufFile, key: string): number | undefined {
  const v: GgufValue | undefined = file.metadata.get(key);
  if (v === undefined) return undefined;
  if (v.type === 'u8' || v.type === 'u16' || v.type === 'u32' || v.type === 'i16' || v.type === 'i32') return v.value;
  throw new GgufError(file.path, `${key} must be an integer, found ${v.type}`);
}

/** Opens a GGUF model: one file, or every part of a split model (by the path of any part). */
export async function openGgufModel(path: string, options: { limits?: Partial<GgufLimits> } = {}): Promise<GgufFile> {
  const name = parseSplitName(path);
  if (!name) {
    const file = await openGguf(path, options);
    const count = splitValue(file, SPLIT_KEYS.count);
    if (count !== undefined && count > 1) {
      throw new GgufError(
        path,
        `is part ${(splitValue(file, SPLIT_KEYS.no) ?? 0) + 1} of a model split in ${count} files, but its name does ` +
          'not say which (llama.cpp names parts <name>-00001-of-00003.gguf): rename the parts as gguf-split wrote them',
      );
    }
    return file;
  }
  if (name.count < 1 || name.count > MAX_PARTS || name.part < 1 || name.part > name.count) {
    throw new GgufError(path, `names part ${name.part} of ${name.count}, which is not a valid split`);
  }
  const paths = Array.from({ length: name.count }, (_, i) => splitPartPath(name.prefix, i + 1, name.count));
  const missing: string[] = [];
  for (const p of paths) await access(p).catch(() => missing.push(basename(p)));
  if (missing.length > 0) {
    throw new GgufError(
      paths[0],
      `is split in ${name.count} files, and ${missing.length === 1 ? 'part' : 'parts'} ${missing.join(', ')} ` +
        `${missing.length === 1 ? 'is' : 'are'} missing from ${dirname(path)} (an incomplete download? download every part)`,
    );
  }
  const parts: GgufFile[] = [];
  for (const p of paths) parts.push(await openGguf(p, options));
  const first = parts[0];
  const tensorsCount = splitValue(first, SPLIT_KEYS.tensors);
  const owner = new Map<string, string>();
  parts.forEach((part, i) => {
    const count = splitValue(part, SPLIT_KEYS.count);
    const no = splitValue(part, SPLIT_KEYS.no);
    if (count !== name.count || no !== i) {
      throw new GgufError(
        part.path,
        `says it is part ${no === undefined ? '(no split.no)' : no + 1} of ${count ?? '(no split.count)'}, but its ` +
          `name makes it part ${i + 1} of ${name.count}: the parts are from different splits or were renamed`,
      );
    }
    for (const t of part.tensors) {
      const other = owner.get(t.name);
      if (other) throw new GgufError(part.path, `tensor ${t.name} is also in ${basename(other)}`);
      owner.set(t.name, part.path);
    }
  });
  if (tensorsCount === undefined) throw new GgufError(first.path, `has no ${SPLIT_KEYS.tensors}`);
  if (tensorsCount !== owner.size) {
    throw new GgufError(
      first.path,
      `says the split model has ${tensorsCount} tensors (${SPLIT_KEYS.tensors}), but its ${name.count} parts hold ${owner.size}`,
    );
  }
  return {
    ...first,
    fileSize: parts.reduce((sum, p) => sum + p.fileSize, 0),
    tensors: parts.flatMap((p) => p.tensors),
    parts: parts.map((p) => ({ path: p.path, fileSize: p.fileSize })),
  };
}
