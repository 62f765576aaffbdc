/**
 * What a user or a hub answer may name, checked before it becomes part of a URL or a path in the cache: a repository
 * id ("ORG/NAME"), a revision (a branch, a tag or a commit), a file path inside the repository, and the --file
 * pattern. A name that could climb out of the cache folder ("..", an absolute path, a backslash) is refused.
 */

export class HubNameError extends Error {
  override name = 'HubNameError';
}

const REPO_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

export function checkRepoId(repo: string): string {
  const parts = repo.split('/');
  if (parts.length !== 2 || !parts.every((p) => REPO_PART.test(p) && !p.includes('..') && !p.endsWith('.'))) {
    throw new HubNameError(
      `model ${JSON.stringify(repo)} must be ORG/NAME as the hub spells it (letters, digits, . _ -), e.g. Qwen/Qwen3-0.6B`,
    );
  }
  return repo;
}

export function checkRevision(revision: string): string {
  if (
    !/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/.test(revision) ||
    revision.split('/').some((p) => p === '' || p === '..')
  ) {
    throw new HubNameError(`revision ${JSON.stringify(revision)} must be a branch, tag or commit name (e.g. main)`);
  }
  return revision;
}

/** A file path from the hub's file list: relative, forward slashes, no empty, "." or ".." part. */
export function checkRepoPath(path: string): string {
  const parts = path.split('/');
  if (
    path.length === 0 ||
    path.length > 1024 ||
    path.includes('\\') ||
    path.includes('\0') ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  ) {
    throw new HubNameError(`the hub listed a file named ${JSON.stringify(path)}, which is not a safe relative path`);
  }
  return path;
}

/** --file PATTERN: `*` matches within a path part, `**` across parts, `?` one character; matched case-insensitively
 * against the whole path and, for a pattern without "/", against the file's name too. */
export function fileMatcher(pattern: string | undefined): (path: string) => boolean {
  if (pattern === undefined || pattern === '') return () => true;
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const re = new RegExp(`^${source}$`, 'i');
  const byName = !pattern.includes('/');
  return (path) => re.test(path) || (byName && re.test(path.slice(path.lastIndexOf('/') + 1)));
}

/** The URL form of a repository path: each part percent-encoded, the slashes kept. */
export const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');
