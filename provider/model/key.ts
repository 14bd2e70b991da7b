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
