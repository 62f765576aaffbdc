/**
 * One file from the hub into its blob: the bytes go to `<blob>.incomplete` first, a download that stopped resumes
 * with a Range request from the bytes already there (they are hashed from disk, not fetched again), and the blob
 * only takes its final name once its size and digest match what the hub listed (sha256 for LFS files, the git blob
 * sha1 for the others). A mismatch deletes the partial file: its bytes are wrong, resuming them would keep them.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { hubHeaders } from './hub-api.ts';
import { PullError, refusal } from './hub-errors.ts';

export interface BlobDownload {
  url: string;
  dest: string;
  /** Shown in messages: the file's path in the repository. */
  label: string;
  size: number;
  sha256: string | null;
  blobId: string | null;
  endpoint: string;
  token?: string;
  signal?: AbortSignal;
  /** Bytes that reached the file: `resumed` for what was there already, then each chunk fetched. */
  onBytes: (bytes: number, resumed: boolean) => void;
}

const sizeOf = (path: string) =>
  stat(path).then(
    (s) => s.size,
    () => null,
  );

function newHasher(d: BlobDownload): { hash: Hash; expected: string; kind: string } | null {
  if (d.sha256) return { hash: createHash('sha256'), expected: d.sha256, kind: 'sha256' };
  if (d.blobId) {
    const hash = createHash('sha1');
    hash.update(`blob ${d.size}\0`); // git's blob id hashes this header, then the bytes
    return { hash, expected: d.blobId, kind: 'git sha1' };
  }
  return null;
}

async function hashExisting(path: string, hash: Hash | undefined, bytes: number): Promise<void> {
  if (!hash || bytes === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 })) hash.update(chunk as Buffer);
}

/** Downloads the blob unless it is there already; returns whether bytes were fetched. */
export async function downloadBlob(d: BlobDownload): Promise<'present' | 'downloaded'> {
  if ((await sizeOf(d.dest)) === d.size) {
    d.onBytes(d.size, true);
    return 'present';
  }
  const partial = `${d.dest}.incomplete`;
  let have = (await sizeOf(partial)) ?? 0;
  if (have > d.size) {
    await rm(partial, { force: true });
    have = 0;
  }
  let hasher = newHasher(d);
  await hashExisting(partial, hasher?.hash, have);

  const cancelled = () => new PullError(`the download was cancelled (${d.label} is kept to resume)`, 'cancelled');
  let response: Response;
  try {
    response = await fetch(d.url, {
      headers: { ...hubHeaders(d.token), ...(have > 0 ? { range: `bytes=${have}-` } : {}) },
      signal: d.signal,
    });
  } catch (error) {
    if (d.signal?.aborted) throw cancelled();
    throw new PullError(`cannot reach ${d.endpoint} for ${d.label}: ${(error as Error).message}`, 'network');
  }
  if (response.status === 416 && have === d.size) {
    await response.body?.cancel(); // every byte was there already: only the check is left
    d.onBytes(have, true);
  } else if (!response.ok) {
    await response.body?.cancel();
    throw refusal(response.status, `the file ${d.label}`, d.endpoint, !!d.token);
  } else {
    if (have > 0 && response.status !== 206) {
      // The server sent the whole file: start over rather than append it to what is there.
      have = 0;
      hasher = newHasher(d);
    }
    if (have > 0) d.onBytes(have, true);
    const handle = await open(partial, have > 0 ? 'a' : 'w');
    let received = have;
    try {
      for await (const chunk of response.body ?? []) {
        const bytes = chunk as Uint8Array;
        received += bytes.length;
        if (received > d.size) {
          throw new PullError(
            `${d.endpoint} sent more than the ${d.size} bytes it listed for ${d.label}`,
            'bad_answer',
          );
        }
        await handle.write(bytes);
        hasher?.hash.update(bytes);
        d.onBytes(bytes.length, false);
      }
    } catch (error) {
      if (error instanceof PullError) throw error;
      if (d.signal?.aborted) throw cancelled();
      throw new PullError(
        `the connection dropped after ${received} of ${d.size} bytes of ${d.label} (${(error as Error).message}): ` +
          'pull again to resume from there',
        'network',
      );
    } finally {
      await handle.close();
    }
    if (received !== d.size) {
      throw new PullError(
        `${d.label} ended after ${received} of ${d.size} bytes: pull again to resume from there`,
        'network',
      );
    }
  }
  if (hasher) {
    const actual = hasher.hash.digest('hex');
    if (actual !== hasher.expected) {
      await rm(partial, { force: true });
      throw new PullError(
        `${d.label} is corrupt: its ${hasher.kind} is ${actual}, the hub lists ${hasher.expected}; the file was deleted, ` +
          'pull again to fetch it anew',
        'checksum',
      );
    }
  }
  await rename(partial, d.dest);
  return 'downloaded';
}
