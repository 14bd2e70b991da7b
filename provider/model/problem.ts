import type { z } from "zod";

/** A step of a problem's path: a field, a node or interface name, or an index in a list. */
export type PathStep = string | number;

/** Where a problem is: the model's path, and the fabric, file and line when known. */
export interface ProblemPlace {
  /**
   * The model's path, as zod gives it: `["nodes", "occultist", "peers", 1, "node"]`,
   * `["nodes", "a", "interfaces", "wg0", "ip"]`, `["links", 0]`; empty for the whole fabric.
   */
  readonly path: readonly PathStep[];
  /** The fabric, where several are read or checked together (a fabrics.cfg; checks across fabrics). */
  readonly fabric?: string;
  /** The file of a fabrics.cfg problem. */
  readonly file?: string;
  /** Its line, 1-based. */
  readonly line?: number;
}

/** One thing wrong (or worth a warning) with a fabric, located by node, interface, peer and field. */
export interface Problem extends ProblemPlace {
  /** An error stops the run; a warning is shown and the run goes on. */
  readonly severity: "error" | "warning";
  /** The place as people read it ({@link whereOf}): `occultist: peers[1]: node`, after `file:line: fabric:` when known. */
  readonly where: string;
  /** What is wrong, in words. */
  readonly message: string;
  /** What would fix it, when one fix is likely (`did you mean "ip6"?`). */
  readonly hint?: string;
}

/** `file:line: fabric: ` and the path as {@link locate} writes it: the parts the place has. */
export function whereOf(place: ProblemPlace): string {
  return [place.file === undefined ? "" : `${place.file}:${place.line ?? 1}`, place.fabric ?? "", locate(place.path)].filter(Boolean).join(": ");
}

/** A problem at a place, its `where` written from the place (the one way a problem is made). */
export function problemAt(severity: Problem["severity"], place: ProblemPlace, message: string, hint?: string): Problem {
  return { severity, ...place, where: whereOf(place), message, ...(hint ? { hint } : {}) };
}

/** The same problem at another place (e.g. with its file and line, or without its fabric). */
export function movedProblem(problem: Problem, place: Partial<ProblemPlace>): Problem {
  const { where: _where, ...rest } = problem;
  const next = { ...rest, ...place };
  return { ...next, where: whereOf(next) };
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
    const place = { path: rename(issue.path).map((step) => (typeof step === "number" ? step : String(step))) };
    if (issue.code === "unrecognized_keys") {
      return problemAt("error", place, `unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}`);
    }
    if (issue.code === "invalid_key") {
      // a bad record key (node or interface name): say what is wrong with the name itself
      return problemAt("error", place, issue.issues.map((inner) => inner.message).join("; "));
    }
    // zod leaves out the input unless asked: a missing value is told by the message
    if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) {
      return problemAt("error", place, "is required");
    }
    return problemAt("error", place, issue.message);
  });
}

/** Thrown when a fabric is invalid; `problems` has every problem found, not only the first. */
export class FabricError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "FabricError";
  }
}
