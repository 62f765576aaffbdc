/**
 * Provider API keys at rest: AES-256-GCM under a 32-byte master key (master-key.ts says where that key lives). Each
 * sealed value is `v1.<iv>.<tag>.<ciphertext>` (base64url), with a fresh 12-byte IV, and the provider's name as
 * additional data: a sealed key copied onto another provider's row does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const MASTER_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';

/** A sealed key that does not open: a different master key, or a damaged or moved value. Never carries the key. */
export class KeyBoxError extends Error {
  override name = 'KeyBoxError';
}

export class KeyBox {
  readonly #key: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== MASTER_KEY_BYTES) {
      throw new KeyBoxError(`the master key must be ${MASTER_KEY_BYTES} bytes, got ${masterKey.length}`);
    }
    this.#key = Buffer.from(masterKey); // a copy: the caller may wipe its buffer
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url'));
    return [VERSION, ...parts].join('.');
  }

  open(sealed: string, context: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new KeyBoxError('not a sealed key (unknown format)');
    const [iv, tag, data] = parts.slice(1).map((p) => Buffer.from(p, 'base64url'));
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new KeyBoxError('not a sealed key (bad sizes)');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    } catch {
      throw new KeyBoxError(
        'the stored API key does not decrypt with this master key (it was saved under another one, or damaged)',
      );
    }
  }
}
