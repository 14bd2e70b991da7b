import { type Dialect, fileKeyOf, inFileSyntax, type SectionKind } from "../section-config";
import type { PathStep, Problem } from "../model";

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
 * A problem located in a file: parse problems carry their file, line and fabric; others are
 * located by the caller (`fabric`, `line`). The path gives the node, the interface, the peer's
 * index and the field, written as the file's key; fields in the message are written as the
 * file's keys too.
 */
export function diagnosticOf(problem: Problem, file: string, dialect: Dialect, at: { readonly fabric?: string; readonly line?: number } = {}): Diagnostic {
  const fabric = problem.fabric ?? at.fabric;
  const line = problem.file === file ? problem.line : at.line;
  return {
    file,
    ...(line !== undefined ? { line } : {}),
    severity: problem.severity,
    ...(fabric ? { fabric } : {}),
    ...locationOf(problem.path, dialect),
    message: inFileSyntax(problem.message, dialect),
    ...(problem.hint ? { hint: inFileSyntax(problem.hint, dialect) } : {}),
  };
}

/** The node, interface, peer and key a model path names (`["nodes", "a", "peers", 2, "endpoint"]`). */
function locationOf(path: readonly PathStep[], dialect: Dialect): { node?: string; iface?: string; peer?: number; key?: string } {
  let rest = [...path];
  const location: { node?: string; iface?: string; peer?: number; key?: string } = {};
  let section: SectionKind = "fabric";
  if (rest[0] === "nodes" && rest.length > 1) {
    location.node = String(rest[1]);
    section = "node";
    rest = rest.slice(2);
  }
  if (rest[0] === "interfaces" && rest.length > 1) {
    location.iface = String(rest[1]);
    section = "interface";
    rest = rest.slice(2);
  }
  if (rest[0] === "peers" && typeof rest[1] === "number") {
    location.peer = rest[1];
    section = "peer";
    rest = rest.slice(2);
  }
  // the field, as the file's key (a list element's index after it aside)
  if (typeof rest[0] === "string") location.key = fileKeyOf(section, rest[0], dialect);
  return location;
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

  constructor(
    private readonly options: ReportOptions,
    private readonly err: (line: string) => void,
  ) {}

  add(diagnostic: Diagnostic): void {
    if (diagnostic.severity === "error") this.errors++;
    else this.warnings++;
    if (diagnostic.severity === "warning" && this.options.quiet) return;
    if (this.shown.length >= DEFAULT_PROBLEM_LIMIT) return;
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
