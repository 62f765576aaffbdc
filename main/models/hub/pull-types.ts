/**
 * What a pull reports: its plan, its progress and its result (`plas models pull` prints them; POST /api/models/pull
 * streams them). This file imports nothing: the renderer imports its types too (`import type`), so the two sides
 * cannot drift apart.
 */

export interface PullPlan {
  repo: string;
  revision: string;
  commit: string;
  files: { path: string; size: number }[];
  totalBytes: number;
}

export interface PullProgress {
  /** The file being fetched, and its place in the list. */
  file: string;
  fileIndex: number;
  fileCount: number;
  fileBytes: number;
  fileTotal: number;
  /** Bytes in place over all files (those already on disk included). */
  doneBytes: number;
  totalBytes: number;
  /** Bytes fetched over the network by this pull (what a speed or ETA is computed from). */
  fetchedBytes: number;
}

export interface PullResult extends PullPlan {
  /** snapshots/<commit>: the folder to register (or that holds the files). */
  snapshot: string;
  /** Each file's path in the snapshot. */
  paths: string[];
  fetchedBytes: number;
}
