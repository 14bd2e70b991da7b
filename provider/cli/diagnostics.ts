import { type Dialect, fileKeyWhere, inFileSyntax, isKeyOrField } from "../section-config";
import type { Problem } from "../model";

/** One problem of a file as the CLI reports it, in text or as JSON (`validate --json`). */
export interface Diagnostic {
  readonly file: string;
  readonly line?: number;
  readonly severity: "error" | "warning";
  readonly fabric?: string;
  readonly node?: string;
  readonly iface?: string;
  /** The index of the peer in its node's `peers`. */
  readonly peer?: number;
  /** The file's own key (`listen_port`, not `listenPort`). */
  readonly key?: string;
  readonly message: string;
  readonly hint?: string;
}

/**
 * A problem located in a file: parse problems carry `file:line[: fabric: …]` in `where`; others
 * are located by the caller (`fabric`, `line`). The rest of the location is read as the model
 * spells it: a node (or a fabric key), an interface, `peers[N]`, then a field, written as the
 * file's key; fields in the message are written as the file's keys too.
 */
export function diagnosticOf(problem: Problem, file: string, dialect: Dialect, at: { readonly fabric?: string; readonly line?: number } = {}): Diagnostic {
  let parts = problem.where ? problem.where.split(": ") : [];
  let { fabric, line } = at;
  const fileLine = /^(.*):(\d+)$/.exec(parts[0] ?? "");
  if (fileLine && fileLine[1] === file) {
    line = Number(fileLine[2]);
    fabric = parts[1];
    parts = parts.slice(2);
  }
  const location: { node?: string; iface?: string; peer?: number; key?: string } = {};
  const keyed = fileKeyWhere(parts.join(": "), dialect).split(": ").filter(Boolean);
  keyed.forEach((part, index) => {
    const peer = /^peers\[(\d+)\]$/.exec(part);
    const last = index === keyed.length - 1;
    if (peer) location.peer = Number(peer[1]);
    else if (index === 0 && !(last && keyed.length === 1 && isKeyOrField("fabric", part))) location.node = part;
    else if (last && (isKeyOrField(undefined, part) || /^unknown key/.test(problem.message))) location.key = part;
    else location.iface = part;
  });
  return {
    file,
    ...(line !== undefined ? { line } : {}),
    severity: problem.severity,
    ...(fabric ? { fabric } : {}),
    ...location,
    message: inFileSyntax(problem.message, dialect),
    ...(problem.hint ? { hint: inFileSyntax(problem.hint, dialect) } : {}),
  };
}

/** `file:line: severity: fabric: node: iface: key: message` (the parts it has), the hint after "; ". */
export function diagnosticText(diagnostic: Diagnostic): string {
  const { file, line, severity, fabric, node, iface, peer, key, message, hint } = diagnostic;
  const place = [line === undefined ? file : `${file}:${line}`, severity, fabric, node, iface, peer === undefined ? undefined : `peers[${peer}]`, key];
  return `${place.filter((part) => part !== undefined).join(": ")}: ${message}${hint ? `; ${hint}` : ""}`;
}

/** How a command reports its problems. */
export interface ReportOptions {
  /** One JSON document on stdout at the end instead of lines on stderr. */
  readonly json?: boolean;
  /** Errors only: no warnings, no summary. */
  readonly quiet?: boolean;
  /** Warnings fail the command too (exit 1). */
  readonly strict?: boolean;
  /** At most this many problems are printed; the rest are counted. */
  readonly limit?: number;
}

/** Problems printed before the rest are only counted. */
export const DEFAULT_PROBLEM_LIMIT = 100;

/**
 * Collects a command's problems: prints each as it comes (up to the limit), counts them all, and
 * says at the end how many were not shown; with `json`, keeps the shown ones for one document.
 */
export class Reporter {
  errors = 0;
  warnings = 0;
  readonly shown: Diagnostic[] = [];
  private readonly limit: number;

  constructor(
    private readonly options: ReportOptions,
    private readonly err: (line: string) => void,
  ) {
    this.limit = options.limit ?? DEFAULT_PROBLEM_LIMIT;
  }

  add(diagnostic: Diagnostic): void {
    if (diagnostic.severity === "error") this.errors++;
    else this.warnings++;
    if (diagnostic.severity === "warning" && this.options.quiet) return;
    if (this.shown.length >= this.limit) return;
    this.shown.push(diagnostic);
    if (!this.options.json) this.err(diagnosticText(diagnostic));
  }

  /** Counts errors found but not kept (a parser's beyond its own limit). */
  addOmitted(errors: number): void {
    this.errors += errors;
  }

  /** Problems counted but not printed. */
  get omitted(): number {
    return this.errors + (this.options.quiet ? 0 : this.warnings) - this.shown.length;
  }

  /** True when the command must exit 1: an error, or a warning with `strict`. */
  get failed(): boolean {
    return this.errors > 0 || (this.options.strict === true && this.warnings > 0);
  }

  /** Says how many problems were not shown (text), and why a strict run failed. */
  finish(): void {
    if (this.options.json) return;
    if (this.omitted > 0) this.err(`… and ${this.omitted} more problem(s) not shown (${this.errors} error(s), ${this.warnings} warning(s) in all)`);
    if (this.options.strict && this.errors === 0 && this.warnings > 0 && !this.options.quiet) this.err(`--strict: ${this.warnings} warning(s) fail the command`);
  }
}
