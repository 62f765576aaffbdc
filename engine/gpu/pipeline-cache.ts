/**
 * Compiles each (kernel, shader variant, override constants) once. Pipelines are never created inside the token
 * loop: the first call compiles, every later call is a map lookup.
 */
import { composeShader, type ShaderSpec } from './shader-source.ts';

export interface PipelineSpec extends ShaderSpec {
  /** Kernel name: the label Dawn puts in its error messages. */
  kernel: string;
  /** Values for the shader's `override` declarations (workgroup sizes, tile sizes). */
  constants?: Record<string, number>;
  entryPoint?: string;
}

export function pipelineKey(spec: PipelineSpec): string {
  const consts = Object.entries(spec.constants ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${spec.kernel}|${(spec.enables ?? []).join('+')}|${(spec.libs ?? []).join('+')}|${spec.file}|${spec.entryPoint ?? 'main'}|${consts}`;
}

export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();
  /** Errors from pipeline creation are collected here and thrown, with the kernel's name, at the next submit. */
  readonly pendingErrors: Promise<{ kernel: string; message: string } | null>[] = [];

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  get(spec: PipelineSpec): GPUComputePipeline {
    const key = pipelineKey(spec);
    let pipeline = this.pipelines.get(key);
    if (pipeline) return pipeline;
    const code = composeShader(spec);
    let module = this.modules.get(code);
    this.device.pushErrorScope('validation');
    if (!module) {
      module = this.device.createShaderModule({ label: spec.kernel, code });
      this.modules.set(code, module);
    }
    pipeline = this.device.createComputePipeline({
      label: spec.kernel,
      layout: 'auto',
      compute: { module, entryPoint: spec.entryPoint ?? 'main', constants: spec.constants ?? {} },
    });
    this.pendingErrors.push(
      this.device.popErrorScope().then((error) => (error ? { kernel: spec.kernel, message: error.message } : null)),
    );
    this.pipelines.set(key, pipeline);
    return pipeline;
  }
}
