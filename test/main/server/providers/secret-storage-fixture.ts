/**
 * Electron's safeStorage as the desktop app sees it, for tests that run without Electron: a keyring only this test
 * holds (AES-256-CBC under a random key), so a headless server, like one run by hand, cannot open what it sealed.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecretStorage } from '../../../../main/electron/master-key-store.ts';

export function fakeSecretStorage(): SecretStorage {
  const k = randomBytes(32);
  return {
    isEncryptionAvailable: () => true,
    getSelectedStorageBackend: () => 'gnome_libsecret',
    encryptString(plain) {
      const iv = randomBytes(16);
      const c = createCipheriv('aes-256-cbc', k, iv);
      return Buffer.concat([iv, c.update(plain, 'utf8'), c.final()]);
    },
    decryptString(b) {
      const d = createDecipheriv('aes-256-cbc', k, b.subarray(0, 16));
      return Buffer.concat([d.update(b.subarray(16)), d.final()]).toString('utf8');
    },
  };
}
