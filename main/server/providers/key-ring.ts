/**
 * The master keys a server seals and opens provider API keys with, and what it tells the user about a saved key.
 * A data folder can hold two (master-key.ts, master-key-store.ts):
 * - the desktop app's, sealed by the system's secret storage (provider-keys.safe): only the app can open it, and it
 *   hands it to its server on stdin;
 * - the headless server's, a 0600 file (provider-keys.key).
 * Three ways a server runs on a folder:
 * - 'app': the app handed its key in. Keys are sealed with it; a key a headless server saved in the file still opens.
 * - 'headless': no app key in this folder; the file's key (made at start, as always) seals and opens.
 * - 'headless-beside-app': the folder has the app's sealed key, but this server was not given it (`plas serve` run
 *   by hand on the app's folder). No new key is made at start: that would leave the app's saved keys looking
 *   broken. Keys the app saved cannot be opened here, and each says why and what to do. A key entered here is
 *   sealed with the folder's file key (made then, at the first save): the app's server reads that file too, so the
 *   key works in both, and the note on it says where it is kept.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KeyBox, KeyBoxError } from './key-box.ts';
import { fileMasterKey, MASTER_KEY_FILE, readExistingMasterKey, SAFE_MASTER_KEY_FILE } from './master-key.ts';

export type KeyRingMode = 'app' | 'headless' | 'headless-beside-app';

export interface KeyDescription {
  readable: boolean;
  note: string | null;
}

/** A saved key this server cannot open because the app's secret storage holds its master key. */
export class AppSealedKeyError extends KeyBoxError {
  override name = 'AppSealedKeyError';
  constructor() {
    super(
      "its API key is sealed with the master key that the PLAS Studio app keeps in the system's secret storage, " +
        'and this server was not given that key: run PLAS Studio on this data ' +
        `folder, or enter the key again here (it is then kept in the folder's ${MASTER_KEY_FILE}, a file only your ` +
        'user account can read, which the app reads too)',
    );
  }
}

const NOTES = {
  fileBesideApp:
    `Kept in this data folder's ${MASTER_KEY_FILE} (a file only your user account can read), because this server ` +
    "cannot reach the PLAS Studio app's secret storage; the app reads this file too, so the key works there as well.",
  fileInApp:
    `Saved by a headless plas serve, in the data folder's ${MASTER_KEY_FILE} (a file only your user account can ` +
    "read); replace it here to keep it in the system's secret storage instead.",
};

export class KeyRing {
  readonly mode: KeyRingMode;
  readonly #dataDir: string | null;
  readonly #log: (message: string) => void;
  /** Seals new keys; null until the first save in 'headless-beside-app'. */
  #current: KeyBox | null;
  /** The folder file's key beside the app's (read when first needed: a headless server may make it later). */
  #file: KeyBox | null = null;
  /** What was found of each sealed value (it never changes: a new save has a new random IV). */
  readonly #described = new Map<string, KeyDescription>();

  constructor(
    mode: KeyRingMode,
    current: Buffer | null,
    dataDir: string | null,
    log: (message: string) => void = () => {},
  ) {
    this.mode = mode;
    this.#current = current && new KeyBox(current);
    this.#dataDir = dataDir;
    this.#log = log;
  }

  /** One master key, nothing beside it (tests, and servers given a key without a data folder to look in). */
  static single(masterKey: Buffer): KeyRing {
    return new KeyRing('headless', masterKey, null);
  }

  seal(plaintext: string, context: string): string {
    if (this.#current === null) {
      const dir = this.#dataDir as string;
      const existed = existsSync(join(dir, MASTER_KEY_FILE));
      this.#current = new KeyBox(fileMasterKey(dir));
      this.#file = this.#current;
      if (!existed) {
        this.#log(
          `created ${join(dir, MASTER_KEY_FILE)} to seal API keys entered here: this data folder's other master ` +
            `key (${SAFE_MASTER_KEY_FILE}) is kept by the PLAS Studio app's secret storage, out of this server's reach`,
        );
      }
    }
    return this.#current.seal(plaintext, context);
  }

  open(sealed: string, context: string): string {
    return this.#open(sealed, context).plain;
  }

  /**
   * Whether this server can use a saved key, and what the user should know about it (where it is kept, when that is
   * not the usual place, or why it cannot be used here); note null: nothing to say.
   */
  describe(sealed: string, context: string): KeyDescription {
    let d = this.#described.get(sealed);
    if (d === undefined) {
      try {
        const by = this.#open(sealed, context).by;
        // Beside the app's key, the file's is the current one here; in the app, it is the one a headless server used.
        const note = this.mode === 'headless-beside-app' ? NOTES.fileBesideApp : by === 'file' ? NOTES.fileInApp : null;
        d = { readable: true, note };
      } catch (error) {
        let note = `${capitalize((error as Error).message)}.`;
        if (!(error instanceof AppSealedKeyError)) note = `${note.slice(0, -1)}: enter it again.`;
        d = { readable: false, note };
      }
      this.#described.set(sealed, d);
    }
    return d;
  }

  #open(sealed: string, context: string): { plain: string; by: 'current' | 'file' } {
    let failure: unknown = null;
    if (this.#current) {
      try {
        return { plain: this.#current.open(sealed, context), by: 'current' };
      } catch (error) {
        failure = error;
      }
    }
    const file = this.#fileBox();
    if (file && file !== this.#current) {
      try {
        return { plain: file.open(sealed, context), by: 'file' };
      } catch (error) {
        failure ??= error;
      }
    }
    if (this.mode === 'headless-beside-app') throw new AppSealedKeyError();
    throw failure ?? new KeyBoxError('no master key to open the stored API key');
  }

  #fileBox(): KeyBox | null {
    if (this.#file === null && this.mode !== 'headless' && this.#dataDir !== null) {
      const key = readExistingMasterKey(this.#dataDir);
      if (key) this.#file = new KeyBox(key);
    }
    return this.#file;
  }
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The key ring of a server on `dataDir`: `handedIn` is the app's key (from stdin), when it gave one. Without it, a
 * folder with the app's sealed key gets no new key until one is saved; any other folder gets its 0600 file as always.
 */
export function serverKeyRing(dataDir: string, handedIn: Buffer | undefined, log: (m: string) => void): KeyRing {
  if (handedIn) return new KeyRing('app', handedIn, dataDir, log);
  if (existsSync(join(dataDir, SAFE_MASTER_KEY_FILE))) {
    return new KeyRing('headless-beside-app', readExistingMasterKey(dataDir), dataDir, log);
  }
  return new KeyRing('headless', fileMasterKey(dataDir), dataDir, log);
}
