/**
 * Chain hashes of full KV pages, the keys of the prefix cache (vLLM v1's block hashes).
 *
 * hash(page i) = H(hash(page i-1), the page's token ids, extra keys). Chaining makes a page's hash name its whole
 * prefix, so one lookup per page finds the longest cached prefix, and two prompts share a page only when every token
 * before it matches too (the page's KV depends on all of them). Only FULL pages are hashed: a partial page is still
 * being written.
 *
 * H is SHA-256 (node:crypto) truncated to 128 bits, not a fast 64-bit hash, because the prefix cache is shared by
 * every client of the localhost server: with a non-cryptographic hash, a client could craft a prompt that collides
 * with another's page and read (or poison) its KV (vLLM's CVE-2025-25183 came from Python's hash()). 128 bits keep
 * accidental collisions out of reach (birthday bound ~2^64 pages) and make compact Map keys. The cost, a few
 * microseconds per 64-token page, is noise next to the forward pass that computes the page.
 */
import { createHash } from 'node:crypto';

/** 32 hex characters: the first 128 bits of a SHA-256 digest. Opaque: compare, store, never parse. */
export type BlockHash = string;

const ROOT = new Uint8Array([0]); // tag for "no parent": the first page of a sequence
const CHILD = new Uint8Array([1]); // tag followed by the parent's 16 bytes

/**
 * The hash of one full page. `extraKeys` separates caches that must not share KV for equal tokens: the model or
 * adapter, a per-client cache salt. The byte encoding (tags, lengths) is unambiguous, so different inputs never
 * encode to the same bytes.
 */
export function hashBlockTokens(parent: BlockHash | null, tokenIds: ArrayLike<number>, extraKeys = ''): BlockHash {
  const h = createHash('sha256');
  if (parent === null) h.update(ROOT);
  else {
    h.update(CHILD);
    h.update(Buffer.from(parent, 'hex'));
  }
  const words = new Uint32Array(tokenIds.length + 1);
  words[0] = tokenIds.length;
  for (let i = 0; i < tokenIds.length; i++) {
    const t = tokenIds[i];
    if (!Number.isInteger(t) || t < 0 || t > 0xffffffff) {
      throw new RangeError(`hashBlockTokens: token id ${t} at index ${i} is not an integer in [0, 2^32)`);
    }
    words[i + 1] = t;
  }
  h.update(new Uint8Array(words.buffer));
  h.update(extraKeys, 'utf8');
  return h.digest('hex').slice(0, 32);
}

/**
 * Extend `hashes` (the hashes of a sequence's first pages, in order) until it covers every full page among the first
 * `numTokens` tokens. Incremental: pages already hashed are not hashed again, so calling this every step costs only
 * the pages that filled since.
 */
export function extendBlockHashes(
  hashes: BlockHash[],
  numTokens: number,
  tokenAt: (i: number) => number,
  pageSize: number,
  extraKeys = '',
): void {
  const numFull = Math.floor(numTokens / pageSize);
  const page = new Array<number>(pageSize);
  for (let b = hashes.length; b < numFull; b++) {
    for (let j = 0; j < pageSize; j++) page[j] = tokenAt(b * pageSize + j);
    hashes.push(hashBlockTokens(b === 0 ? null : hashes[b - 1], page, extraKeys));
  }
}
