/** What discovery reports about one model it found on this computer (read-only: nothing is copied or changed). */

/** Where a model was found: the Hugging Face cache, LM Studio's or Ollama's models folder, or a folder the user added. */
export type ModelSource = 'huggingface' | 'lmstudio' | 'ollama' | 'folder';

export type ModelFormat = 'safetensors' | 'gguf';

export interface DiscoveredModel {
  source: ModelSource;
  /** How the tool that keeps it names it: "Qwen/Qwen3-0.6B", "qwen3:0.6b", "lmstudio-community/Qwen3-0.6B-GGUF/...". */
  name: string;
  /** What `POST /api/models {path}` takes to register it in place: a safetensors folder or a GGUF file. */
  path: string;
  format: ModelFormat;
  /** config.json's architectures[0], or GGUF's general.architecture; null when unreadable. */
  architecture: string | null;
  /** GGUF: the file type ("Q4_K_M") or the tensor types; safetensors: the weights' dtype ("bf16"). */
  quantization: string | null;
  /** The model's context length when the files say. */
  contextLength: number | null;
  /** Bytes on disk (a blob linked twice counted once per link, as the loader would read it). */
  sizeBytes: number;
  /** Whether this engine can run it; `problems` says why not. */
  runnable: boolean;
  problems: string[];
}

/** The folders discovery looks in, from the environment and the home folder (see roots.ts). */
export interface DiscoveryRoots {
  huggingface: string[];
  lmstudio: string[];
  ollama: string[];
  /** Folders the user added. */
  folders: string[];
}
