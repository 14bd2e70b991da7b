import { z } from "zod";

/** Linux refuses interface names of IFNAMSIZ (16) bytes or more, including the NUL. */
export const IFNAMSIZ_MAX = 15;

// wg-quick accepts exactly this alphabet; it also keeps names safe in any shell word.
const IFNAME_PATTERN = /^[a-zA-Z0-9_=+.-]{1,15}$/;

/** Why `name` is not a usable interface name, or undefined when it is. */
export function ifnameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > IFNAMSIZ_MAX) return `"${name}" is ${name.length} characters; Linux allows at most ${IFNAMSIZ_MAX}`;
  if (name === "." || name === "..") return `"${name}" is not allowed by Linux`;
  if (!IFNAME_PATTERN.test(name)) return `"${name}" may only contain letters, digits and _ = + . -`;
  // ip, wg and ifup take it as an argument: "-a" would be an option (ifdown -a takes every interface down)
  if (!/^[a-zA-Z0-9]/.test(name)) return `"${name}" must start with a letter or digit`;
  return undefined;
}

/** Schema for a network interface name that Linux and wg-quick both accept. */
export const ifnameSchema = z.string().superRefine((name, ctx) => {
  const problem = ifnameProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: `interface name ${problem}` });
});

/** Names of nodes and fabrics: hostname-like, no underscore (it separates `<fabric>_<node>`). */
export const NAME_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** Schema for node and fabric names. */
export const nameSchema = z
  .string()
  .regex(NAME_PATTERN, { message: "must be letters, digits and inner dashes (no underscore), at most 63 characters" });
