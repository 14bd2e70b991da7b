#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  CONFIG_FORMATS,
  hasErrors,
  parseSectionConfig,
  recordedPublicKeys,
  renderIfupdown2,
  renderWg,
  renderWgQuick,
  resolveInterfaces,
  validateFabric,
  writeSectionConfig,
  type ConfigFormat,
  type SectionConfig,
} from "../fabric";
import { FabricError, formatProblem, type Fabric } from "../model";

/** Raised for bad command lines: exit 2 with the usage. */
class UsageError extends Error {}

const USAGE: Record<string, string> = {
  "": `usage: wg-fabric <command> [options]

Commands:
  validate FILE   check a Proxmox fabrics.cfg; exit 1 with one problem per line
  render FILE     print the config of a node's interfaces
  fmt FILE        print the canonical fabrics.cfg

Run "wg-fabric <command> --help" for a command's options.`,
  validate: `usage: wg-fabric validate FILE

Parses and validates every WireGuard fabric in FILE (a Proxmox fabrics.cfg).
Exit 0 with a summary line; exit 1 with one problem per line on stderr.`,
  render: `usage: wg-fabric render FILE --node NAME [--fabric NAME] [--iface IFACE]
                         [--format wg|wg-quick|ifupdown2] [--private-key-file PATH]

Prints the config of NODE's interfaces (all of them, each after a "# IFACE" line,
unless --iface is given). --format defaults to wg (the wg(8) setconf format).
--private-key-file inserts the key from PATH (run it on the node itself);
without it the PrivateKey line is left out.`,
  fmt: `usage: wg-fabric fmt FILE

Prints FILE in canonical form (tabs, fixed key order, canonical addresses).`,
};

function load(file: string): SectionConfig {
  return parseSectionConfig(readFileSync(file, "utf8"), file);
}

function pickFabric(config: SectionConfig, node: string, fabricName?: string): Fabric {
  const candidates = config.fabrics.filter((f) => (fabricName ? f.name === fabricName : node in f.nodes));
  if (candidates.length === 0) {
    throw new UsageError(fabricName ? `no fabric "${fabricName}" in the file` : `no fabric in the file has a node "${node}"`);
  }
  if (candidates.length > 1) throw new UsageError(`node "${node}" is in several fabrics; choose one with --fabric`);
  return candidates[0] as Fabric;
}

function validate(file: string, out: (line: string) => void, err: (line: string) => void): number {
  const config = load(file);
  let errors = 0;
  let warnings = 0;
  for (const fabric of config.fabrics) {
    for (const problem of validateFabric(fabric)) {
      err(`${file}: ${fabric.name}: ${formatProblem(problem)}`);
      if (problem.severity === "error") errors++;
      else warnings++;
    }
  }
  if (errors > 0) return 1;
  const nodes = config.fabrics.reduce((n, f) => n + Object.keys(f.nodes).length, 0);
  const ifaces = config.fabrics.reduce((n, f) => n + resolveInterfaces(f).length, 0);
  out(`${file}: ok: ${config.fabrics.length} fabric(s), ${nodes} node(s), ${ifaces} interface(s), ${warnings} warning(s)`);
  return 0;
}

function render(file: string, values: Record<string, string | undefined>, out: (line: string) => void): number {
  const node = values.node;
  if (!node) throw new UsageError("render needs --node NAME");
  const format = (values.format ?? "wg") as ConfigFormat;
  if (!CONFIG_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${CONFIG_FORMATS.join(", ")}`);
  const fabric = pickFabric(load(file), node, values.fabric);
  const problems = validateFabric(fabric);
  if (hasErrors(problems)) throw new FabricError(problems.filter((p) => p.severity === "error"));
  if (fabric.nodes[node]?.role !== "internal") throw new UsageError(`node "${node}" is external: nothing to render`);
  const views = resolveInterfaces(fabric).filter((v) => v.node === node && (!values.iface || v.iface === values.iface));
  if (views.length === 0) throw new UsageError(`node "${node}" has no interface "${values.iface}"`);
  const privateKey = values["private-key-file"] ? readFileSync(values["private-key-file"], "utf8").trim() : undefined;
  const context = { publicKeys: recordedPublicKeys(fabric), privateKey };
  const texts = views.map((view) => {
    const text = format === "wg" ? renderWg(view, context) : format === "wg-quick" ? renderWgQuick(view, context) : renderIfupdown2(view);
    return values.iface ? text : `# ${view.iface}\n${text}`;
  });
  out(texts.join("\n").replace(/\n$/, ""));
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
      },
      strict: true,
    });
    if (values.help) {
      out(USAGE[command] as string);
      return 0;
    }
    if (command !== "render" && (values.node || values.iface || values.format || values.fabric || values["private-key-file"])) {
      throw new UsageError(`${command} takes no options besides --help`);
    }
    if (positionals.length !== 1) throw new UsageError(`${command} needs exactly one FILE`);
    const file = positionals[0] as string;
    if (command === "validate") return validate(file, out, err);
    if (command === "render") return render(file, values as Record<string, string | undefined>, out);
    out(writeSectionConfig(load(file)).replace(/\n$/, ""));
    return 0;
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
