// KMS-encrypted sessions: AES-256-GCM with a 64-byte data key from kms:GenerateDataKey.
// The agent encrypts with key[0:32] and decrypts with key[32:64]; a client does the reverse.
// Wire format: nonce(12) ‖ ciphertext ‖ tag(16), no additional data.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface SessionKeys {
  readonly encrypt: Buffer;
  readonly decrypt: Buffer;
}

export function splitDataKey(dataKey: Uint8Array, side: 'client' | 'agent'): SessionKeys {
  if (dataKey.length !== 64) throw new Error(`the session data key must be 64 bytes, not ${dataKey.length}`);
  const first = Buffer.from(dataKey.subarray(0, 32));
  const second = Buffer.from(dataKey.subarray(32, 64));
  return side === 'agent' ? { encrypt: first, decrypt: second } : { encrypt: second, decrypt: first };
}

export function seal(key: Buffer, plaintext: Buffer, nonce: Buffer = randomBytes(NONCE_BYTES)): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

export function open(key: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new Error('encrypted payload is too short');
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAuthTag(tag);
  return Buffer.concat([
    decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
    decipher.final(),
  ]);
}
