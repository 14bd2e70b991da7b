import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import {
  CONFIG_FORMATS,
  DIALECTS,
  fileKeyWhere,
  hasErrors,
  keyTable,
  parseSectionConfig,
  proxmoxReadingProblems,
  recordedPublicKeys,
  renderFormat,
  renderParts,
  renderDot,
  renderMermaid,
  resolveInterfaces,
  topologyOfFabric,
  validateAcrossFabrics,
  validateFabric,
  writeSectionConfig,
  type ConfigFormat,
  type Dialect,
  type InterfaceView,
  type PeerView,
  type SectionConfig,
  type Topology,
} from "../fabric";
import { fileBlocks } from "./file-blocks";
import { printError, printLine, writeAll } from "./output";
import { PartsWriter } from "./parts-writer";
import { spawnSync } from "./spawn";
import { FabricError, formatProblem, isWgKey, type Fabric, type Problem } from "../model";
import { exportStack, refreshStack, tail, type StackSelection } from "./pulumi-cli";
import { topologyOfStack } from "./stack-graph";
import { Timings } from "./timings";
import { stackInterfaces, type StackInterface } from "./stack-state";
import { DEFAULT_MAX_HANDSHAKE_AGE, formatStatusTable, statusReport, type StatusReport } from "./status";

/** Raised for bad command lines: exit 2 with the usage. */
class UsageError extends Error {}

const DIALECT_OPTION = "[--dialect proxmox|rfc]";
const DIALECT_HELP = `--dialect says how to read FILE (detected when not given): proxmox, as Proxmox VE
writes it (a peer's allowed_ips add to the node's), or rfc, the RFC's with our keys (they
replace them). A file using any key of ours (key_dir, apply_mode, mtu …) is read as rfc.`;

const USAGE: Record<string, string> = {
  "": `usage: wg-fabric <command> [options]

Commands:
  validate FILE   check a Proxmox fabrics.cfg; exit 1 with one problem per line
  render FILE     print the config of a node's interfaces, or write every node's (--all)
  fmt FILE        print the canonical fabrics.cfg (Proxmox VE's dialect, or --rfc)
  keys            print the table of fabrics.cfg keys and their TypeScript fields
  status          refresh a stack and print its tunnels; exit 1 when one has no recent handshake
  graph [FILE]    draw a fabrics.cfg, or a stack with its status (DOT, SVG, PNG or Mermaid)

Run "wg-fabric <command> --help" for a command's options.`,
  validate: `usage: wg-fabric validate FILE ${DIALECT_OPTION}

Parses and validates every WireGuard fabric in FILE (a Proxmox fabrics.cfg), and the rules
between them (a node's listen ports and interface names differ across fabrics). A file in
Proxmox VE's dialect also gets a warning for each key Proxmox VE would not read as the file
means it (what fmt rewrites or refuses). Exit 0 with a summary line; exit 1 with one problem per line on stderr, as
FILE:LINE: FABRIC: NODE: IFACE: KEY: message.

${DIALECT_HELP}`,
  render: `usage: wg-fabric render FILE --node NAME [--fabric NAME] [--iface IFACE] ${DIALECT_OPTION}
                         [--format ${CONFIG_FORMATS.join("|")}] [--private-key-file PATH]
       wg-fabric render FILE --all --out DIR [--format …] ${DIALECT_OPTION}

Prints the config of NODE's interfaces (all of them, each after a "# IFACE" line,
unless --iface is given). --format defaults to wg (the wg(8) setconf format);
proxmox is /etc/wireguard/proxmox/IFACE.conf as a Proxmox VE node writes it,
proxmox-stanza its ifupdown2 stanza.
--private-key-file inserts the key from PATH (run it on the node itself);
without it the PrivateKey line is left out.
--all validates every fabric of FILE and writes each internal node's interfaces as
DIR/NODE/IFACE.conf (stanza formats: DIR/NODE/IFACE), mode 0600, in one run.`,
  fmt: `usage: wg-fabric fmt FILE [--rfc] [--force] ${DIALECT_OPTION}

Prints FILE in canonical form (tabs, fixed key order, canonical addresses) in Proxmox VE's
dialect, as every release of it reads the file: an internal node's endpoint as its host (its
peers dial the listen port), and a peer's allowed_ips on the node it points at when every peer
of that node adds the same (proxmox-ve-config 0.10.1 reads neither a port there nor a peer's
allowed_ips). A key it does not know, or gives another meaning, or that no form every release
reads keeps, would change what the file means: each is named with its line on stderr, and
nothing is written (exit 1) unless --force, which writes the file anyway. Exit 1 also when a
fabric cannot be written in it at all (e.g. an interface name longer than 8 characters).
Comments are not kept.
--rfc writes the RFC's dialect with every key of ours.

${DIALECT_HELP}`,
  status: `usage: wg-fabric status [--stack NAME] [--cwd DIR] [--no-refresh] [--max-age SECONDS] [--json]

Runs "pulumi refresh" on the stack (unless --no-refresh), then prints one row per declared
peering of its managed interfaces: interface, peer, endpoint, age of the latest handshake,
bytes received and sent, and what refresh found changed on the node (drift).
Exit 0 when every peering had a handshake in the last --max-age seconds (default
${DEFAULT_MAX_HANDSHAKE_AGE}, when WireGuard drops a session's keys) on an interface that is up; exit 1
otherwise, or when the refresh failed (then the rows are the last recorded ones).
--json prints the same as one JSON object. --stack and --cwd are pulumi's own.`,
  graph: `usage: wg-fabric graph [FILE [--fabric NAME] ${DIALECT_OPTION}] [--stack NAME] [--cwd DIR] [--no-refresh]
                      [--format dot|svg|png|mermaid] [--out PATH]

Draws a fabric: each internal node as a box around its interfaces (addresses, port),
external nodes apart, one edge per peering (both directions merged). One-sided peerings
are dashed and orange; nodes with validation errors red, the errors listed.
From FILE (a fabrics.cfg), or without FILE from the stack (--stack, --cwd), which is
refreshed first (unless --no-refresh) so edges are coloured by handshake age: green
recent, orange stale, red never or interface down.
--format defaults to dot; svg and png need Graphviz's dot (apt-get install graphviz);
mermaid renders in Markdown. Written to --out PATH, else to stdout.`,
  keys: `usage: wg-fabric keys

Prints every fabrics.cfg key with its TypeScript field and meaning, as a Markdown table
(the README's); "ours" marks keys Proxmox VE does not have.`,
};

function load(file: string, dialect: string | undefined): SectionConfig {
  if (dialect !== undefined && !(DIALECTS as readonly string[]).includes(dialect)) throw new UsageError(`--dialect must be one of ${DIALECTS.join(", ")}`);
  return parseSectionConfig(fileBlocks(file), file, { dialect: dialect as Dialect | undefined });
}

function pickFabric(config: SectionConfig, node: string, fabricName?: string): Fabric {
  const candidates = config.fabrics.filter((f) => (fabricName ? f.name === fabricName : node in f.nodes));
  if (candidates.length === 0) {
    throw new UsageError(fabricName ? `no fabric "${fabricName}" in the file` : `no fabric in the file has a node "${node}"`);
  }
  if (candidates.length > 1) throw new UsageError(`node "${node}" is in several fabrics; choose one with --fabric`);
  return candidates[0] as Fabric;
}

function validate(file: string, config: SectionConfig, out: (line: string) => void, err: (line: string) => void): number {
  let errors = 0;
  let warnings = 0;
  const report = (fabric: string, problem: Problem): void => {
    const where = fileKeyWhere(problem.where, config.dialect);
    err(`${file}:${config.lineOf(fabric, problem.where)}: ${fabric}: ${formatProblem({ ...problem, where })}`);
    if (problem.severity === "error") errors++;
    else warnings++;
  };
  for (const fabric of config.fabrics) for (const problem of validateFabric(fabric)) report(fabric.name, problem);
  for (const problem of validateAcrossFabrics(config.fabrics)) {
    const [fabric, ...where] = problem.where.split(": ");
    report(fabric as string, { ...problem, where: where.join(": ") });
  }
  // what Proxmox VE itself would not read as the file means (what fmt would refuse to write)
  if (config.dialect === "proxmox" && errors === 0) {
    for (const fabric of config.fabrics) for (const problem of proxmoxReadingProblems(fabric)) report(fabric.name, problem);
  }
  if (errors > 0) return 1;
  if (config.fabrics.length === 0) {
    err(`${file}: no WireGuard fabric in it (no "wireguard_fabric:" section)`);
    return 1;
  }
  const nodes = config.fabrics.reduce((n, f) => n + Object.keys(f.nodes).length, 0);
  const ifaces = config.fabrics.reduce((n, f) => n + resolveInterfaces(f).length, 0);
  out(`${file}: ok (${config.dialect} dialect): ${config.fabrics.length} fabric(s), ${nodes} node(s), ${ifaces} interface(s), ${warnings} warning(s)`);
  return 0;
}

function render(config: SectionConfig, values: Record<string, string | undefined>, out: (line: string) => void): number {
  const node = values.node;
  if (!node) throw new UsageError("render needs --node NAME");
  const format = (values.format ?? "wg") as ConfigFormat;
  if (!CONFIG_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${CONFIG_FORMATS.join(", ")}`);
  const fabric = pickFabric(config, node, values.fabric);
  const problems = validateFabric(fabric);
  if (hasErrors(problems)) throw new FabricError(problems.filter((p) => p.severity === "error"));
  if (fabric.nodes[node]?.role !== "internal") throw new UsageError(`node "${node}" is external: nothing to render`);
  const views = resolveInterfaces(fabric).filter((v) => v.node === node && (!values.iface || v.iface === values.iface));
  if (views.length === 0) throw new UsageError(`node "${node}" has no interface "${values.iface}"`);
  const keyFile = values["private-key-file"];
  const privateKey = keyFile ? readFileSync(keyFile, "utf8").trim() : undefined;
  const publicKeys = recordedPublicKeys(fabric);
  if (keyFile && privateKey !== undefined) {
    // never quote what the file holds: it may be a key after all
    const problem = !isWgKey(privateKey)
      ? "does not hold a WireGuard private key (32 bytes of base64, as `wg genkey` prints it)"
      : views.some((view) => publicKeys.get(view.id) === privateKey)
        ? `holds the public key of ${views.map((view) => view.id).join(", ")}, not its private key`
        : undefined;
    if (problem) throw new FabricError([{ severity: "error", where: `--private-key-file ${keyFile}`, message: problem }]);
  }
  const context = { publicKeys, privateKey };
  const texts = views.map((view) => {
    const text = renderFormat(format, view, context);
    return values.iface ? text : `# ${view.iface}\n${text}`;
  });
  out(texts.join("\n").replace(/\n$/, ""));
  return 0;
}

/**
 * The canonical file. What Proxmox VE's dialect cannot hold changes what the file means (a peer's
 * replacing allowed_ips would add, an MTU or keepalive would go): each is named by its line, and
 * nothing is written unless `force`.
 */
function fmt(file: string, config: SectionConfig, rfc: boolean, force: boolean, out: (line: string) => void, err: (line: string) => void): number {
  const lost: Problem[] = [];
  const text = writeSectionConfig(config, { dialect: rfc ? "rfc" : "proxmox", onWarning: (problem) => lost.push(problem) });
  for (const problem of lost) {
    const [fabric = "", ...where] = problem.where.split(": ");
    err(`${file}:${config.lineOf(fabric, where.join(": "))}: ${formatProblem({ ...problem, severity: force ? "warning" : "error" })}`);
  }
  if (lost.length > 0 && !force) {
    err(`${file}: nothing written: Proxmox VE would not read the file as it means (each key above; --rfc keeps every key; --force writes it anyway)`);
    return 1;
  }
  out(text.replace(/\n$/, ""));
  return 0;
}

/** Where `render --all` puts an interface's file. */
function renderedPath(dir: string, view: InterfaceView, format: ConfigFormat): string {
  const stanza = format === "ifupdown2" || format === "proxmox-stanza";
  return path.join(dir, view.node, stanza ? view.iface : `${view.iface}.conf`);
}

/** `render --all`: every fabric validated, every internal node's interfaces written under `dir`. */
function renderAll(config: SectionConfig, format: ConfigFormat, dir: string, timings: Timings, out: (line: string) => void): number {
  const views = timings.time("resolve", () => config.fabrics.map((fabric) => resolveInterfaces(fabric)));
  const problems = timings.time("validate", () =>
    [...config.fabrics.flatMap((fabric, i) => validateFabric(fabric, views[i])), ...validateAcrossFabrics(config.fabrics)].filter((p) => p.severity === "error"),
  );
  if (problems.length > 0) throw new FabricError(problems);
  let files = 0;
  const made = new Set<string>();
  const writer = new PartsWriter();
  config.fabrics.forEach((fabric, i) => {
    const context = { publicKeys: recordedPublicKeys(fabric), stanzaCache: new Map<PeerView, string>() };
    for (const view of views[i] as InterfaceView[]) {
      const file = renderedPath(dir, view, format);
      const parts = timings.time("render", () => renderParts(format, view, context));
      timings.time("write", () => {
        const folder = path.dirname(file);
        if (!made.has(folder)) mkdirSync(folder, { recursive: true, mode: 0o700 });
        made.add(folder);
        writer.write(file, parts);
      });
      files++;
    }
  });
  out(`${dir}: ${files} file(s) of ${made.size} node(s) written`);
  return 0;
}

/** A stack's interfaces and their status, refreshed first unless asked not to; `refreshed` says whether that worked. */
function stackStatus(
  selection: StackSelection,
  refresh: boolean,
  maxAge: number,
  err: (line: string) => void,
): { interfaces: StackInterface[]; report: StatusReport; refreshed: boolean; name: string } {
  let refreshed = true;
  if (refresh) {
    const result = refreshStack(selection);
    if (!result.ok) {
      refreshed = false;
      err(`wg-fabric: pulumi refresh failed; these are the last recorded values:\n${tail(result)}`);
    }
  }
  const exported = exportStack(selection);
  if (!exported.ok) throw new Error(`pulumi stack export failed:\n${tail(exported)}`);
  const interfaces = stackInterfaces(exported.stdout);
  const name = [...new Set(interfaces.map((i) => i.fabric))].join(", ") || selection.stack || "stack";
  return { interfaces, report: statusReport(interfaces, Math.floor(Date.now() / 1000), maxAge), refreshed, name };
}

function status(values: Values, out: (line: string) => void, err: (line: string) => void): number {
  const maxAge = values["max-age"] === undefined ? DEFAULT_MAX_HANDSHAKE_AGE : Number(values["max-age"]);
  if (!Number.isInteger(maxAge) || maxAge <= 0) throw new UsageError("--max-age must be a whole number of seconds above 0");
  const { report, refreshed } = stackStatus(selectionOf(values), values["no-refresh"] !== true, maxAge, err);
  out(values.json ? JSON.stringify({ ...report, refreshed }, null, 2) : formatStatusTable(report));
  return report.healthy && refreshed ? 0 : 1;
}

const GRAPH_FORMATS = ["dot", "svg", "png", "mermaid"] as const;

function graph(positionals: string[], values: Values, out: (line: string) => void, err: (line: string) => void): number {
  const format = (values.format ?? "dot") as (typeof GRAPH_FORMATS)[number];
  if (!GRAPH_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${GRAPH_FORMATS.join(", ")}`);
  let topology: Topology;
  if (positionals.length === 1) {
    if (values.stack || values.cwd || values["no-refresh"]) throw new UsageError("graph takes a FILE or a stack (--stack, --cwd), not both");
    const config = load(positionals[0] as string, values.dialect);
    const names = config.fabrics.map((f) => f.name);
    const fabric = values.fabric ? config.fabrics.find((f) => f.name === values.fabric) : config.fabrics.length === 1 ? config.fabrics[0] : undefined;
    if (!fabric) throw new UsageError(values.fabric ? `no fabric "${values.fabric}" in the file` : `the file has ${names.length} fabrics (${names.join(", ")}): choose one with --fabric`);
    topology = topologyOfFabric(fabric);
  } else {
    if (values.fabric || values.dialect) throw new UsageError("--fabric and --dialect go with a FILE");
    const { interfaces, report, name } = stackStatus(selectionOf(values), values["no-refresh"] !== true, DEFAULT_MAX_HANDSHAKE_AGE, err);
    topology = topologyOfStack(name, interfaces, report);
  }
  const text = format === "mermaid" ? renderMermaid(topology) : renderDot(topology);
  let output: Buffer | string = text;
  if (format === "svg" || format === "png") {
    const drawn = spawnSync("dot", [`-T${format}`], { input: text, maxBuffer: 1 << 30 });
    if (drawn.error) throw new Error((drawn.error as NodeJS.ErrnoException).code === "ENOENT" ? "Graphviz's dot is not installed (apt-get install graphviz); --format dot or mermaid need nothing" : drawn.error.message);
    if (drawn.status !== 0) throw new Error(`dot failed: ${drawn.stderr.toString().trim()}`);
    output = drawn.stdout;
  }
  if (values.out) writeFileSync(values.out, output);
  else if (typeof output === "string") out(output.replace(/\n$/, ""));
  else writeAll(1, output);
  return 0;
}

/** Every option of every command; {@link ALLOWED} says which command takes which. */
const OPTIONS = {
  help: { type: "boolean", short: "h" },
  node: { type: "string" },
  fabric: { type: "string" },
  iface: { type: "string" },
  format: { type: "string" },
  "private-key-file": { type: "string" },
  dialect: { type: "string" },
  rfc: { type: "boolean" },
  all: { type: "boolean" },
  out: { type: "string" },
  stack: { type: "string" },
  cwd: { type: "string" },
  "no-refresh": { type: "boolean" },
  json: { type: "boolean" },
  force: { type: "boolean" },
  "max-age": { type: "string" },
} as const;

type Option = keyof typeof OPTIONS;
type Values = { [K in Option]?: (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string };

const ALLOWED: Record<string, readonly Option[]> = {
  validate: ["dialect"],
  render: ["node", "fabric", "iface", "format", "private-key-file", "dialect", "all", "out"],
  fmt: ["rfc", "force", "dialect"],
  keys: [],
  status: ["stack", "cwd", "no-refresh", "json", "max-age"],
  graph: ["fabric", "format", "out", "dialect", "stack", "cwd", "no-refresh"],
};

function selectionOf(values: Values): StackSelection {
  return { stack: values.stack, cwd: values.cwd };
}

/** How many FILE arguments each command takes: [at least, at most]. */
const FILES: Record<string, readonly [number, number]> = { validate: [1, 1], render: [1, 1], fmt: [1, 1], keys: [0, 0], status: [0, 0], graph: [0, 1] };

function run(command: string, positionals: string[], values: Values, timings: Timings, out: (line: string) => void, err: (line: string) => void): number {
  for (const option of Object.keys(values) as Option[]) {
    if (option !== "help" && !ALLOWED[command]?.includes(option)) throw new UsageError(`${command} takes no --${option}`);
  }
  const [least, most] = FILES[command] as readonly [number, number];
  if (positionals.length < least || positionals.length > most) {
    throw new UsageError(most === 0 ? `${command} takes no FILE` : least === most ? `${command} needs exactly one FILE` : `${command} takes at most one FILE`);
  }
  if (command === "keys") {
    out(keyTable());
    return 0;
  }
  if (command === "status") return status(values, out, err);
  if (command === "graph") return graph(positionals, values, out, err);
  const file = positionals[0] as string;
  const config = timings.time("parse", () => load(file, values.dialect));
  if (command === "validate") return validate(file, config, out, err);
  if (command === "fmt") return fmt(file, config, values.rfc === true, values.force === true, out, err);
  const format = (values.format ?? "wg") as ConfigFormat;
  if (!CONFIG_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${CONFIG_FORMATS.join(", ")}`);
  if (!values.all) {
    if (values.out) throw new UsageError("--out goes with --all");
    return render(config, values as Record<string, string | undefined>, out);
  }
  if (!values.out) throw new UsageError("render --all needs --out DIR");
  if (values.node || values.iface || values.fabric || values["private-key-file"]) throw new UsageError("render --all takes no --node, --iface, --fabric or --private-key-file");
  return renderAll(config, format, values.out, timings, out);
}

/** Runs the CLI; returns the exit code. Exported for tests. */
export function main(argv: readonly string[], out = printLine, err = printError): number {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === "--help" || command === "-h") {
      (command ? out : err)(USAGE[""] as string);
      return command ? 0 : 2;
    }
    if (!(command in USAGE) || command === "") throw new UsageError(`unknown command "${command}"`);
    const { values, positionals } = parseArgs({ args: [...rest], allowPositionals: true, options: OPTIONS, strict: true });
    if (values.help) {
      out(USAGE[command] as string);
      return 0;
    }
    const timings = new Timings();
    const code = run(command, positionals, values as Values, timings, out, err);
    timings.report(err);
    return code;
  } catch (error) {
    // the reader of our output went away (`| head`): nothing more to say
    if ((error as { code?: string }).code === "EPIPE") return 0;
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      err(`wg-fabric: ${(error as Error).message}`);
      err(USAGE[command && command in USAGE ? command : ""] as string);
      return 2;
    }
    if (error instanceof FabricError) {
      for (const problem of error.problems) err(formatProblem(problem));
      return 1;
    }
    err(`wg-fabric: ${(error as Error).message}`);
    return 1;
  }
}
