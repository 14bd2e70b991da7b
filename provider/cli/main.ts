#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  CONFIG_FORMATS,
  DIALECTS,
  fileKeyWhere,
  hasErrors,
  keyTable,
  parseSectionConfig,
  recordedPublicKeys,
  renderIfupdown2,
  renderProxmoxConfig,
  renderProxmoxStanza,
  renderWg,
  renderWgQuick,
  resolveInterfaces,
  validateAcrossFabrics,
  validateFabric,
  writeSectionConfig,
  type ConfigFormat,
  type Dialect,
  type InterfaceView,
  type RenderContext,
  type SectionConfig,
} from "../fabric";
import { FabricError, formatProblem, type Fabric, type Problem } from "../model";

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
  render FILE     print the config of a node's interfaces
  fmt FILE        print the canonical fabrics.cfg (Proxmox VE's dialect, or --rfc)
  keys            print the table of fabrics.cfg keys and their TypeScript fields

Run "wg-fabric <command> --help" for a command's options.`,
  validate: `usage: wg-fabric validate FILE ${DIALECT_OPTION}

Parses and validates every WireGuard fabric in FILE (a Proxmox fabrics.cfg), and the rules
between them (a node's listen ports and interface names differ across fabrics).
Exit 0 with a summary line; exit 1 with one problem per line on stderr, as
FILE:LINE: FABRIC: NODE: IFACE: KEY: message.

${DIALECT_HELP}`,
  render: `usage: wg-fabric render FILE --node NAME [--fabric NAME] [--iface IFACE] ${DIALECT_OPTION}
                         [--format ${CONFIG_FORMATS.join("|")}] [--private-key-file PATH]

Prints the config of NODE's interfaces (all of them, each after a "# IFACE" line,
unless --iface is given). --format defaults to wg (the wg(8) setconf format);
proxmox is /etc/wireguard/proxmox/IFACE.conf as a Proxmox VE node writes it,
proxmox-stanza its ifupdown2 stanza.
--private-key-file inserts the key from PATH (run it on the node itself);
without it the PrivateKey line is left out.`,
  fmt: `usage: wg-fabric fmt FILE [--rfc] ${DIALECT_OPTION}

Prints FILE in canonical form (tabs, fixed key order, canonical addresses) in Proxmox VE's
dialect: keys it does not know are left out, each with a warning on stderr; exit 1 when a
fabric cannot be written in it (e.g. an interface name longer than 8 characters).
--rfc writes the RFC's dialect with every key of ours.

${DIALECT_HELP}`,
  keys: `usage: wg-fabric keys

Prints every fabrics.cfg key with its TypeScript field and meaning, as a Markdown table
(the README's); "ours" marks keys Proxmox VE does not have.`,
};

function load(file: string, dialect: string | undefined): SectionConfig {
  if (dialect !== undefined && !(DIALECTS as readonly string[]).includes(dialect)) throw new UsageError(`--dialect must be one of ${DIALECTS.join(", ")}`);
  return parseSectionConfig(readFileSync(file, "utf8"), file, { dialect: dialect as Dialect | undefined });
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
  if (errors > 0) return 1;
  const nodes = config.fabrics.reduce((n, f) => n + Object.keys(f.nodes).length, 0);
  const ifaces = config.fabrics.reduce((n, f) => n + resolveInterfaces(f).length, 0);
  out(`${file}: ok (${config.dialect} dialect): ${config.fabrics.length} fabric(s), ${nodes} node(s), ${ifaces} interface(s), ${warnings} warning(s)`);
  return 0;
}

const RENDERERS: Record<ConfigFormat, (view: InterfaceView, context: RenderContext) => string> = {
  wg: renderWg,
  "wg-quick": renderWgQuick,
  ifupdown2: (view) => renderIfupdown2(view),
  proxmox: renderProxmoxConfig,
  "proxmox-stanza": (view) => renderProxmoxStanza(view),
};

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
  const privateKey = values["private-key-file"] ? readFileSync(values["private-key-file"], "utf8").trim() : undefined;
  const context = { publicKeys: recordedPublicKeys(fabric), privateKey };
  const texts = views.map((view) => {
    const text = RENDERERS[format](view, context);
    return values.iface ? text : `# ${view.iface}\n${text}`;
  });
  out(texts.join("\n").replace(/\n$/, ""));
  return 0;
}

function fmt(config: SectionConfig, rfc: boolean, out: (line: string) => void, err: (line: string) => void): number {
  const onWarning = (problem: Problem): void => err(formatProblem(problem));
  out(writeSectionConfig(config, { dialect: rfc ? "rfc" : "proxmox", onWarning }).replace(/\n$/, ""));
  return 0;
}

/** Runs the CLI; returns the exit code. Exported for tests. */
export function main(argv: readonly string[], out = (line: string) => console.log(line), err = (line: string) => console.error(line)): number {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === "--help" || command === "-h") {
      (command ? out : err)(USAGE[""] as string);
      return command ? 0 : 2;
    }
    if (!(command in USAGE) || command === "") throw new UsageError(`unknown command "${command}"`);
    const { values, positionals } = parseArgs({
      args: [...rest],
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        node: { type: "string" },
        fabric: { type: "string" },
        iface: { type: "string" },
        format: { type: "string" },
        "private-key-file": { type: "string" },
        dialect: { type: "string" },
        rfc: { type: "boolean" },
      },
      strict: true,
    });
    if (values.help) {
      out(USAGE[command] as string);
      return 0;
    }
    if (command !== "render" && (values.node || values.iface || values.format || values.fabric || values["private-key-file"])) {
      throw new UsageError(`${command} takes no --node, --iface, --format, --fabric or --private-key-file`);
    }
    if (command !== "fmt" && values.rfc) throw new UsageError(`${command} takes no --rfc`);
    if (command === "keys") {
      if (positionals.length > 0 || values.dialect) throw new UsageError("keys takes no FILE or options");
      out(keyTable());
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`${command} needs exactly one FILE`);
    const file = positionals[0] as string;
    const config = load(file, values.dialect);
    if (command === "validate") return validate(file, config, out, err);
    if (command === "render") return render(config, values as Record<string, string | undefined>, out);
    return fmt(config, values.rfc === true, out, err);
  } catch (error) {
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

if (require.main === module) process.exitCode = main(process.argv.slice(2));
