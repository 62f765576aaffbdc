/**
 * Per-request block tables over one BlockPool, with prefix caching (vLLM v1's KVCacheManager, one attention type).
 *
 * A request's block table lists its pages in sequence order: token at position p lives in page
 * `blockTable[floor(p / pageSize)]`, slot `p % pageSize`. The runner reads the table from each SchedulerOutput; the
 * scheduler calls this class, nothing else does.
 *
 * Life of a request here:
 * 1. admission: `getComputedBlocks(r)` finds the longest cached prefix (full pages), then
 *    `allocateSlots(r, numNewTokens, computed)` takes references on those pages and allocates the rest;
 * 2. each step: `allocateSlots(r, numNewTokens)` adds pages as the sequence grows; full pages are hashed and
 *    registered in the prefix cache as soon as they are scheduled (`cacheFullBlocks`);
 * 3. finish, abort or preemption: `free(r)` drops its references; its cached pages stay findable until evicted.
 *
 * Pages are registered when SCHEDULED, before the step computes them (as in vLLM v1), so that a request admitted
 * later in the same step can already share them. The runner must therefore write every scheduled token's K/V of a
 * layer before any attention of that layer reads the cache (the natural order of a batched forward pass), and must
 * run each SchedulerOutput in full.
 */
import { type BlockHash, extendBlockHashes } from './block-hash.ts';
import { BlockPool } from './block-pool.ts';

/** What the manager needs to know about a request (the scheduler's Request implements it). */
export interface KVRequest {
  readonly id: string;
  /** Tokens known: prompt + output so far. */
  readonly numTokens: number;
  /** Tokens whose K/V is computed, or scheduled to be computed by the step in flight. */
  readonly numComputedTokens: number;
  tokenAt(i: number): number;
  /** Hashes of its full pages, in order, extended by the manager (token ids never change, so they stay valid). */
  readonly blockHashes: BlockHash[];
  /** Separates this request's cache entries from those of other salts (e.g. an adapter or a client). */
  readonly cacheSalt?: string;
}

export interface KVCacheConfig {
  /** Pages in the pool, >= 1 (from sizeKvCache). */
  numPages: number;
  /** Tokens per page: a power of two (default 64). */
  pageSize: number;
  /** Share full pages between requests with equal prefixes (default true). */
  enablePrefixCaching?: boolean;
  /** Mixed into every page hash: the model (and its weights' version), so caches never mix across models. */
  hashSalt?: string;
}

/** The cached prefix found for a request: `blocks` hold its first `numTokens` tokens (whole pages). */
export interface ComputedBlocks {
  readonly blocks: readonly number[];
  readonly numTokens: number;
}

export interface KVCacheStats {
  numPages: number;
  pageSize: number;
  numFreePages: number;
  /** Fraction of pages held by requests, 0..1 (cached free pages count as free). */
  usage: number;
  /** Pages with a registered hash, in use or free. */
  numCachedPages: number;
  /** Tokens looked up in the prefix cache at admission (prompt + output; a resumed request counts again). */
  prefixCacheQueries: number;
  /** Of those, tokens found cached (not computed). */
  prefixCacheHits: number;
  evictions: number;
}

const NO_BLOCKS: ComputedBlocks = { blocks: [], numTokens: 0 };

export class KVCacheManager {
  readonly pool: BlockPool;
  readonly pageSize: number;
  readonly enablePrefixCaching: boolean;
  private readonly salt: string;
  private readonly tables = new Map<string, number[]>();
  /** Per request: how many leading pages of its table are already hashed and offered to the cache. */
  private readonly numHashedBlocks = new Map<string, number>();
  private queries = 0;
  private hits = 0;

  constructor(config: KVCacheConfig) {
    const { numPages, pageSize } = config;
    if (!Number.isInteger(pageSize) || pageSize < 1 || (pageSize & (pageSize - 1)) !== 0) {
      throw new RangeError(`page_size (${pageSize}) must be a power of two`);
    }
    this.pool = new BlockPool(numPages);
    this.pageSize = pageSize;
    this.enablePrefixCaching = config.enablePrefixCaching ?? true;
    this.salt = config.hashSalt ?? '';
  }

  /** Pages needed to hold `numTokens` tokens. */
  pagesFor(numTokens: number): number {
    return Math.ceil(numTokens / this.pageSize);
  }

  /** Tokens the whole pool holds (numPages x pageSize), e.g. "KV cache: 131,072 tokens". */
  tokensThatFit(): number {
    return this.pool.numPages * this.pageSize;
  }

  /**
   * The longest cached prefix of the request, in full pages, and never all of its tokens: the last token is always
   * computed, since its logits give the next token. Pure: takes no references and records no stats.
   */
  getComputedBlocks(request: KVRequest): ComputedBlocks {
    if (!this.enablePrefixCaching || request.numTokens <= 1) return NO_BLOCKS;
    const maxPages = Math.floor((request.numTokens - 1) / this.pageSize);
    this.hashUpTo(request, maxPages * this.pageSize);
    const blocks: number[] = [];
    for (let i = 0; i < maxPages; i++) {
      const b = this.pool.lookup(request.blockHashes[i]);
      if (b === undefined) break;
      blocks.push(b);
    }
    return { blocks, numTokens: blocks.length * this.pageSize };
  }

  /**
   * Make room for `numNewTokens` more tokens after the request's computed ones (for a request being admitted, after
   * `computed`, which then count as computed). Returns the pages newly allocated (possibly none), or null, changing
   * nothing, when the pool cannot supply them: the caller preempts something or waits.
   */
  allocateSlots(request: KVRequest, numNewTokens: number, computed: ComputedBlocks = NO_BLOCKS): number[] | null {
    if (!Number.isInteger(numNewTokens) || numNewTokens < 0) {
      throw new RangeError(`allocateSlots(${request.id}): num_new_tokens (${numNewTokens}) must be an integer >= 0`);
    }
    const table = this.tables.get(request.id);
    const admitting = table === undefined;
    if (!admitting && computed.blocks.length > 0) {
      throw new Error(`allocateSlots(${request.id}): computed blocks are only given when a request is admitted`);
    }
    const numComputed = request.numComputedTokens + computed.numTokens;
    const end = numComputed + numNewTokens;
    if (end > request.numTokens) {
      throw new RangeError(
        `allocateSlots(${request.id}): computed (${numComputed}) + new (${numNewTokens}) tokens exceed the ${request.numTokens} known`,
      );
    }
    const have = (table?.length ?? 0) + computed.blocks.length;
    const numNewBlocks = Math.max(0, this.pagesFor(end) - have);
    // Cached pages waiting in the free list stop being free once touched: they use up free slots too.
    let freeHits = 0;
    for (const b of computed.blocks) if (this.pool.refCount(b) === 0) freeHits++;
    if (numNewBlocks + freeHits > this.pool.numFree) return null;

    this.pool.touch(computed.blocks); // before allocate, which could otherwise evict them
    const fresh = this.pool.allocate(numNewBlocks);
    const t = table ?? [];
    t.push(...computed.blocks, ...fresh);
    if (admitting) {
      this.tables.set(request.id, t);
      this.numHashedBlocks.set(request.id, computed.blocks.length);
      this.queries += request.numTokens;
      this.hits += computed.numTokens;
    }
    this.cacheFullBlocks(request, end);
    return fresh;
  }

  /**
   * Hash the request's pages that are full within its first `numTokens` tokens (default: its computed ones) and
   * register them in the prefix cache. Idempotent and incremental.
   */
  cacheFullBlocks(request: KVRequest, numTokens = request.numComputedTokens): void {
    if (!this.enablePrefixCaching) return;
    const table = this.tables.get(request.id);
    if (table === undefined) return;
    const numFull = Math.min(Math.floor(numTokens / this.pageSize), table.length);
    let done = this.numHashedBlocks.get(request.id) ?? 0;
    if (done >= numFull) return;
    this.hashUpTo(request, numFull * this.pageSize);
    for (; done < numFull; done++) this.pool.cache(table[done], request.blockHashes[done]);
    this.numHashedBlocks.set(request.id, done);
  }

  /** Drop the request's block table and its references; its cached pages stay findable until evicted. */
  free(requestId: string): void {
    const table = this.tables.get(requestId);
    if (table === undefined) return;
    this.pool.free(table);
    this.tables.delete(requestId);
    this.numHashedBlocks.delete(requestId);
  }

  /** The request's pages in sequence order (empty when it holds none). A live view: copy it to keep it. */
  blockTable(requestId: string): readonly number[] {
    return this.tables.get(requestId) ?? [];
  }

  /** Ids of the requests holding pages. */
  owners(): IterableIterator<string> {
    return this.tables.keys();
  }

  resetPrefixCache(): void {
    this.pool.resetPrefixCache();
  }

  stats(): KVCacheStats {
    const p = this.pool.stats();
    return {
      numPages: p.numPages,
      pageSize: this.pageSize,
      numFreePages: p.numFree,
      usage: (p.numPages - p.numFree) / p.numPages,
      numCachedPages: p.numCached,
      prefixCacheQueries: this.queries,
      prefixCacheHits: this.hits,
      evictions: p.evictions,
    };
  }

  private hashUpTo(request: KVRequest, numTokens: number): void {
    const extra = request.cacheSalt ? `${this.salt}\u0000${request.cacheSalt}` : this.salt;
    extendBlockHashes(request.blockHashes, numTokens, (i) => request.tokenAt(i), this.pageSize, extra);
  }
}
