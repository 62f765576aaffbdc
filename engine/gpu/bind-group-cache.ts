/**
 * Bind groups keyed by pipeline and the exact buffer ranges bound, so a decode loop that binds the same buffers step
 * after step creates each bind group once.
 */

export interface BufferRange {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

const MAX_ENTRIES = 8192;

export class BindGroupCache {
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  private readonly groups = new Map<string, GPUBindGroup>();

  constructor(private readonly device: GPUDevice) {}

  private id(object: object): number {
    let id = this.ids.get(object);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(object, id);
    }
    return id;
  }

  get(pipeline: GPUComputePipeline, ranges: readonly BufferRange[], label: string): GPUBindGroup {
    let key = `${this.id(pipeline)}`;
    for (const r of ranges) key += `|${this.id(r.buffer)}:${r.offset}:${r.size}`;
    let group = this.groups.get(key);
    if (group) return group;
    // A bounded cache: when a workload binds ever-new buffers, start over rather than grow without limit.
    if (this.groups.size >= MAX_ENTRIES) this.groups.clear();
    group = this.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: ranges.map((r, binding) => ({
        binding,
        resource: { buffer: r.buffer, offset: r.offset, size: r.size },
      })),
    });
    this.groups.set(key, group);
    return group;
  }

  /** Forget groups that bind `buffer` (call before destroying a buffer that might be rebound by a new one). */
  clear(): void {
    this.groups.clear();
  }
}
