/**
 * What discovery needs from a GGUF file, read through the engine's GGUF reader (engine/gguf/reader.ts; metadata and
 * tensor infos only, no weights): its architecture, file type, tensor types, context length and whether it carries a
 * tokenizer, and from those whether this engine can run it.
 */
import { GGUF_FILE_TYPES } from '../../../engine/gguf/describe.ts';
import { openGgufModel } from '../../../engine/gguf/split.ts';
import { QUANT_TYPES } from '../../../engine/quant/types.ts';

/** GGUF general.architecture -> the engine's architecture (config.json's class name). */
export const GGUF_ARCHITECTURES: Readonly<Record<string, string>> = {
  llama: 'LlamaForCausalLM',
  mistral: 'MistralForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
  ernie4_5: 'Ernie4_5_ForCausalLM',
};

/** The tensor types the engine runs: the float types and engine/quant's quantized blocks. */
export const RUNNABLE_TENSOR_TYPES: ReadonlySet<string> = new Set(['f32', 'f16', 'bf16', ...QUANT_TYPES]);

export interface GgufFacts {
  architecture: string | null;
  /** "Q4_K_M", else the tensor types by weight ("q4_k+q6_k"). */
  quantization: string | null;
  contextLength: number | null;
  parameters: number;
  /** Elements per tensor type. */
  tensorTypes: Map<string, number>;
  runnable: boolean;
  problems: string[];
}

/** A metadata value as a plain JS value (the reader keeps each value's GGUF type as {type, value}; u64s become numbers). */
function plain(value: unknown): unknown {
  const v =
    value !== null && typeof value === 'object' && 'value' in value ? (value as { value: unknown }).value : value;
  return typeof v === 'bigint' ? Number(v) : v;
}

const elements = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/**
 * Reads the file's header (every part's, for a split model; throws the reader's error on a malformed file or a missing
 * part) and judges whether the engine runs it.
 */
export async function readGgufFacts(path: string): Promise<GgufFacts> {
  const file = await openGgufModel(path);
  const meta = (key: string) => plain(file.metadata.get(key));
  const arch = meta('general.architecture');
  const architecture = typeof arch === 'string' ? arch : null;
  const ctx = architecture ? meta(`${architecture}.context_length`) : undefined;
  const tensorTypes = new Map<string, number>();
  let parameters = 0;
  for (const tensor of file.tensors) {
    const n = elements(tensor.shape);
    parameters += n;
    // The reader sets dtype only for the types the engine runs; the others keep ggml's name ("Q2_K").
    const name = tensor.dtype ?? tensor.ggmlType.toLowerCase();
    tensorTypes.set(name, (tensorTypes.get(name) ?? 0) + n);
  }
  const fileType = meta('general.file_type');
  const byWeight = [...tensorTypes].sort((a, b) => b[1] - a[1]).map(([t]) => t);
  const quantization =
    typeof fileType === 'number' && GGUF_FILE_TYPES[fileType]
      ? GGUF_FILE_TYPES[fileType]
      : byWeight.slice(0, 2).join('+') || null;

  const problems: string[] = [];
  if (!architecture) problems.push('the file does not name its architecture (general.architecture)');
  else if (!GGUF_ARCHITECTURES[architecture]) {
    problems.push(
      `unsupported architecture ${architecture} (the engine runs ${Object.keys(GGUF_ARCHITECTURES).join(', ')})`,
    );
  }
  const unsupported = byWeight.filter((t) => !RUNNABLE_TENSOR_TYPES.has(t));
  if (unsupported.length > 0) {
    problems.push(
      `quant type ${unsupported.join(', ')} not supported (the engine runs ${[...RUNNABLE_TENSOR_TYPES].join(', ')})`,
    );
  }
  if (file.tensors.length === 0) problems.push('the file holds no tensors');
  if (meta('tokenizer.ggml.model') === undefined)
    problems.push('missing tokenizer (no tokenizer.ggml.model in the file)');
  return {
    architecture,
    quantization,
    contextLength: typeof ctx === 'number' ? ctx : null,
    parameters,
    tensorTypes,
    runnable: problems.length === 0,
    problems,
  };
}
