/**
 * Recycles GPU buffers by size class, so activations and staging buffers are not created and destroyed every step.
 * Size classes are quarter steps between powers of two (1, 1.25, 1.5, 1.75 x 2^k), so at most ~25% is wasted.
 */

export function sizeClass(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const quarter = pow / 4;
  return Math.max(min, Math.ceil(bytes / quarter) * quarter);
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly owned = new Map<GPUBuffer, string>();
  private liveBytes = 0;
  private freeBytes = 0;

  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const size = sizeClass(bytes);
    const key = `${size}:${usage}`;
    const reused = this.free.get(key)?.pop();
    if (reused) {
      this.freeBytes -= size;
      this.liveBytes += size;
      return reused;
    }
    const buffer = this.device.createBuffer({ label, size, usage });
    this.owned.set(buffer, key);
    this.liveBytes += size;
    return buffer;
  }

  /** Give a buffer back; the caller must not use it afterwards (work already submitted with it is fine). */
  release(buffer: GPUBuffer): void {
    const key = this.owned.get(buffer);
    if (key === undefined)
      throw new Error(`BufferPool.release: buffer "${buffer.label}" was not acquired from this pool`);
    let list = this.free.get(key);
    if (!list) {
      list = [];
      this.free.set(key, list);
    }
    if (list.includes(buffer)) throw new Error(`BufferPool.release: buffer "${buffer.label}" released twice`);
    list.push(buffer);
    this.liveBytes -= buffer.size;
    this.freeBytes += buffer.size;
  }

  /** Destroy every free buffer (after a model unload, or when memory is tight). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buffer of list) {
        this.owned.delete(buffer);
        buffer.destroy();
      }
    }
    this.free.clear();
    this.freeBytes = 0;
  }

  stats(): { liveBytes: number; freeBytes: number } {
    return { liveBytes: this.liveBytes, freeBytes: this.freeBytes };
  }
}
