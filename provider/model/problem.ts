import type { z } from "zod";

/** One thing wrong (or worth a warning) with a fabric, located by node, interface, peer and field. */
export interface Problem {
  /** An error stops the run; a warning is shown and the run goes on. */
  readonly severity: "error" | "warning";
  /** e.g. `occultist: peers[1]: node` */
  readonly where: string;
  /** What is wrong, in words. */
  readonly message: string;
  /** What would fix it, when one fix is likely (`did you mean "ip6"?`). */
  readonly hint?: string;
}

/** Text with every pre-shared key value (`preshared_key=…`, `PresharedKey = …`) blanked out, for errors that quote input. */
export function redactSecrets(text: string): string {
  return text.replace(/(preshared_?key\s*[=:]\s*)[^,;\s"]*/gi, "$1[redacted]");
}

/** `occultist: peers[1]: node "berserkr" is not defined in fabric "vpn"` */
export function formatProblem(problem: Problem): string {
  const prefix = problem.severity === "warning" ? "warning: " : "";
  const message = problem.hint ? `${problem.message}; ${problem.hint}` : problem.message;
  return problem.where ? `${prefix}${problem.where}: ${message}` : `${prefix}${message}`;
}

/**
 * Turns a zod path into our location: `["nodes","occultist","peers",1,"node"]` becomes
 * `occultist: peers[1]: node`, `["nodes","a","interfaces","wg0","ip"]` becomes `a: wg0: ip`.
 */
export function locate(path: readonly PropertyKey[]): string {
  const parts: string[] = [];
  const rest = [...path];
  if (rest[0] === "nodes" && rest.length > 1) {
    rest.shift();
    parts.push(String(rest.shift()));
  }
  while (rest.length > 0) {
    const key = rest.shift();
    if (key === "interfaces" && rest.length > 0) parts.push(String(rest.shift()));
    else if (typeof rest[0] === "number") parts.push(`${String(key)}[${String(rest.shift())}]`);
    else parts.push(String(key));
  }
  return parts.join(": ");
}

/**
 * The issues of a failed zod parse as problems in our format, one per issue and in the same order.
 * `rename` spells a path's fields another way (a fabrics.cfg's keys).
 */
export function problemsFromZod(issues: readonly z.core.$ZodIssue[], rename: (path: readonly PropertyKey[]) => PropertyKey[] = (path) => [...path]): Problem[] {
  return issues.map((issue) => {
    const where = locate(rename(issue.path));
    if (issue.code === "unrecognized_keys") {
      return { severity: "error", where, message: `unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}` };
    }
    if (issue.code === "invalid_key") {
      // a bad record key (node or interface name): say what is wrong with the name itself
      return { severity: "error", where, message: issue.issues.map((inner) => inner.message).join("; ") };
    }
    // zod leaves out the input unless asked: a missing value is told by the message
    if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) {
      return { severity: "error", where, message: "is required" };
    }
    return { severity: "error", where, message: issue.message };
  });
}

/** Thrown when a fabric is invalid; `problems` has every problem found, not only the first. */
export class FabricError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "FabricError";
  }
}
