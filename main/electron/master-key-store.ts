/**
 * The desktop app's master key for provider API keys, kept by the platform's secret storage (Electron's safeStorage:
 * Keychain on macOS, DPAPI on Windows, the Secret Service/KWallet on Linux): `<data-dir>/provider-keys.safe` holds it
 * encrypted by safeStorage, and the supervisor writes the decrypted key to the server's stdin. Where there is no real
 * secret storage (Linux without a keyring: safeStorage's 'basic_text'), null: the server keeps its 0600 file.
 * A key the headless server made before (provider-keys.key) is adopted, so API keys saved then still open, and its
 * plaintext file is removed. Once provider-keys.safe exists, a headless `plas serve` on the same folder cannot open
 * it: it makes no key of its own at start, and keys entered there go into a new provider-keys.key that the app's
 * server reads beside this one (server/providers/key-ring.ts); that file is then left alone here.
 * Plain Node apart from the storage passed in, so it runs without Electron.
 */
import { closeSync, existsSync, fchmodSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MASTER_KEY_FILE, newMasterKey, parseMasterKey, SAFE_MASTER_KEY_FILE } from '../server/providers/master-key.ts';

export { SAFE_MASTER_KEY_FILE };

/** What is used of Electron's safeStorage. */
export interface SecretStorage {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
  getSelectedStorageBackend?(): string;
}

export function desktopMasterKey(dataDir: string, storage: SecretStorage, log: (m: string) => void): Buffer | null {
  if (!storage.isEncryptionAvailable() || storage.getSelectedStorageBackend?.() === 'basic_text') return null;
  const safe = join(dataDir, SAFE_MASTER_KEY_FILE);
  if (existsSync(safe)) {
    try {
      return parseMasterKey(storage.decryptString(readFileSync(safe)), safe);
    } catch (error) {
      // The keyring changed (another user, a reset): the server's own file stands in; saved API keys must be re-entered.
      log(`the master key in ${safe} could not be decrypted (${(error as Error).message}); using the data dir's file`);
      return null;
    }
  }
  const plainPath = join(dataDir, MASTER_KEY_FILE);
  const key = existsSync(plainPath) ? parseMasterKey(readFileSync(plainPath, 'utf8'), plainPath) : newMasterKey();
  const fd = openSync(safe, 'w', 0o600);
  try {
    if (process.platform !== 'win32') fchmodSync(fd, 0o600);
    writeSync(fd, storage.encryptString(key.toString('base64')));
  } finally {
    closeSync(fd);
  }
  rmSync(plainPath, { force: true });
  return key;
}
