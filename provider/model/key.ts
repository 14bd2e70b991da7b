import { createPrivateKey, createPublicKey } from "node:crypto";
import { z } from "zod";

/** A WireGuard key: 32 bytes, base64 encoded (44 characters ending in "="). */
export type WgKey = string & { readonly __brand: "WgKey" };

const KEY_PATTERN = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** True when `text` is 32 bytes of canonical base64, as `wg genkey`/`wg pubkey` print. */
export function isWgKey(text: string): text is WgKey {
  return KEY_PATTERN.test(text);
}

/** What is wrong with a string that is not a key (never quoting it: it may be a pre-shared key). */
export const NOT_A_KEY = 'is not a WireGuard key (32 bytes of base64, 44 characters ending in "=")';

/** Schema for a public or pre-shared key. */
export const wgKeySchema = z
  .string()
  .refine(isWgKey, { message: NOT_A_KEY })
  .transform((text) => text as WgKey);

/** PKCS #8's DER prefix of a raw X25519 private key (RFC 8410), so node:crypto takes WireGuard's 32 bytes. */
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The public key of a WireGuard private key, as `wg pubkey` prints it (X25519 clamps as WireGuard does). */
export function publicKeyOf(privateKey: WgKey): WgKey {
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, Buffer.from(privateKey, "base64")]), format: "der", type: "pkcs8" });
  const { x } = createPublicKey(key).export({ format: "jwk" });
  return Buffer.from(x as string, "base64url").toString("base64") as WgKey;
}
