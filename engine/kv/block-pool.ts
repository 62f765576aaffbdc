/**
 * The pool of KV pages ("blocks"): ids 0..numPages-1, each holding `pageSize` tokens of every layer's K and V on the
 * GPU. This class only does the bookkeeping; it never touches GPU memory.
 *
 * Free list (vLLM v1's FreeKVCacheBlockQueue): every block with reference count 0 sits in one doubly linked list.
 * `allocate` takes from the head; `free` puts blocks at the tail. A freed block that holds a cached (hashed) full page
 * KEEPS its hash while it waits in the list, so a later request with the same prefix can take it back (`touch`) without
 * recomputing it; its hash is dropped only when `allocate` reaches it at the head and reuses it (eviction). The list
 * is therefore LRU order: the least recently freed cached page is evicted first.
 *
 * Two refinements on that order, both so that the pages most likely to be reused survive longest:
 * - `free(blockTable)` appends a sequence's pages last-first, so its tail (private to it) is evicted before its head
 *   (the system prompt or chat history other requests share);
 * - a freed page without a hash (partial, or a duplicate of a page cached elsewhere) holds nothing reusable, so it
 *   goes to the HEAD and is reused before any cached page is evicted.
 *
 * Reference counts: a block is owned by every request whose block table lists it (several only through a prefix-cache
 * hit). `numFree` counts every block in the free list, cached or not, since all of them can be handed out.
 */
import type { BlockHash } from './block-hash.ts';

export interface BlockPoolStats {
  numPages: number;
  numFree: number;
  /** Blocks with a hash registered (in use or waiting in the free list). */
  numCached: number;
  /** Cached blocks whose hash was dropped to reuse the block. */
  evictions: number;
}

export class BlockPool {
  private readonly refCounts: Int32Array;
  private readonly hashes: (BlockHash | null)[];
  private readonly byHash = new Map<BlockHash, number>();
  // Free list links; index numPages is the sentinel (its next is the head, its prev the tail); -1 = not in the list.
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly sentinel: number;
  private free_ = 0;
  private evictions = 0;

  constructor(readonly numPages: number) {
    if (!Number.isInteger(numPages) || numPages < 1) {
      throw new RangeError(`BlockPool: num_pages (${numPages}) must be a positive integer`);
    }
    this.refCounts = new Int32Array(numPages);
    this.hashes = new Array<BlockHash | null>(numPages).fill(null);
    this.next = new Int32Array(numPages + 1).fill(-1);
    this.prev = new Int32Array(numPages + 1).fill(-1);
    this.sentinel = numPages;
    this.next[this.sentinel] = this.sentinel;
    this.prev[this.sentinel] = this.sentinel;
    for (let b = 0; b < numPages; b++) this.linkBefore(b, this.sentinel);
  }

  /** Blocks that `allocate` can hand out now (free, cached or not). */
  get numFree(): number {
    return this.free_;
  }

  /** Take `n` blocks from the head of the free list (evicting their cached hashes), each with reference count 1. */
  allocate(n: number): number[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`BlockPool.allocate: n (${n}) must be an integer >= 0`);
    if (n > this.free_)
      throw new RangeError(`BlockPool.allocate: asked for ${n} blocks but only ${this.free_} are free`);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const b = this.next[this.sentinel];
      this.unlink(b);
      this.evict(b);
      this.refCounts[b] = 1;
      out.push(b);
    }
    return out;
  }

  /**
   * Drop one reference from each block. `blocks` is a block table in sequence order; blocks reaching count 0 return
   * to the free list, hashed ones at the tail in reverse order (tail of the sequence evicted first), unhashed ones at
   * the head (reused first).
   */
  free(blocks: readonly number[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i];
      this.check(b, 'free');
      if (this.refCounts[b] === 0) throw new Error(`BlockPool.free: block ${b} is already free (double free)`);
      if (--this.refCounts[b] > 0) continue;
      if (this.hashes[b] === null) this.linkBefore(b, this.next[this.sentinel]);
      else this.linkBefore(b, this.sentinel);
    }
  }

  /** Add one reference to each block (a new request hit them in the prefix cache); free ones leave the free list. */
  touch(blocks: readonly number[]): void {
    for (const b of blocks) {
      this.check(b, 'touch');
      if (this.refCounts[b] === 0) {
        // A free block without a hash may be handed out by the next allocate: nobody may hold its id.
        if (this.hashes[b] === null) throw new Error(`BlockPool.touch: block ${b} is free and holds no cached page`);
        this.unlink(b);
      }
      this.refCounts[b]++;
    }
  }

  /** The block caching the page with this hash, if any (in use or free). */
  lookup(hash: BlockHash): number | undefined {
    return this.byHash.get(hash);
  }

  /**
   * Register an in-use block as the cached copy of the page `hash`. Returns false (and registers nothing) when that
   * hash is already cached in another block: two requests computed the same page, and one copy is enough.
   */
  cache(block: number, hash: BlockHash): boolean {
    this.check(block, 'cache');
    if (this.refCounts[block] === 0) throw new Error(`BlockPool.cache: block ${block} is free`);
    const existing = this.hashes[block];
    if (existing !== null) {
      if (existing !== hash) throw new Error(`BlockPool.cache: block ${block} already caches another page`);
      return true;
    }
    if (this.byHash.has(hash)) return false;
    this.hashes[block] = hash;
    this.byHash.set(hash, block);
    return true;
  }

  refCount(block: number): number {
    this.check(block, 'refCount');
    return this.refCounts[block];
  }

  hashOf(block: number): BlockHash | null {
    this.check(block, 'hashOf');
    return this.hashes[block];
  }

  /** The free list from head (next to be allocated) to tail. O(numFree): for tests and debugging. */
  freeOrder(): number[] {
    const out: number[] = [];
    for (let b = this.next[this.sentinel]; b !== this.sentinel; b = this.next[b]) out.push(b);
    return out;
  }

  /** Forget every cached page (e.g. after the model's weights changed). Blocks in use keep their owners. */
  resetPrefixCache(): void {
    for (const b of this.byHash.values()) this.hashes[b] = null;
    this.byHash.clear();
  }

  stats(): BlockPoolStats {
    return { numPages: this.numPages, numFree: this.free_, numCached: this.byHash.size, evictions: this.evictions };
  }

  private evict(b: number): void {
    const h = this.hashes[b];
    if (h === null) return;
    this.byHash.delete(h);
    this.hashes[b] = null;
    this.evictions++;
  }

  private linkBefore(b: number, at: number): void {
    const p = this.prev[at];
    this.next[p] = b;
    this.prev[b] = p;
    this.next[b] = at;
    this.prev[at] = b;
    this.free_++;
  }

  private unlink(b: number): void {
    const p = this.prev[b];
    const n = this.next[b];
    this.next[p] = n;
    this.prev[n] = p;
    this.next[b] = -1;
    this.prev[b] = -1;
    this.free_--;
  }

  private check(b: number, op: string): void {
    if (!Number.isInteger(b) || b < 0 || b >= this.numPages) {
      throw new RangeError(`BlockPool.${op}: block ${b} is not in [0, ${this.numPages})`);
    }
  }
}
