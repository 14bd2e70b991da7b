import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { createTwoFilesPatch } from "diff";
import { CONFIG_FORMATS, type ConfigFormat, type InterfaceView, type PeerView, recordedPublicKeys, renderFormat, renderParts, prepareFabric, validateAcrossFabrics } from "../fabric";
import { type Dialect, DIALECTS, keyTable, parseSectionConfig, proxmoxReadingProblems, RFC_ONLY, type SectionConfig, SectionConfigError, writeSectionConfig } from "../section-config";
import { renderDot, renderMermaid, type Topology, topologyOfFabric } from "../draw";
import { closestOf, FabricError, formatProblem, isWgKey, problemAt, publicKeyOf, type Fabric, type Problem } from "../model";
import { COMMANDS, COMMON, commandHelp, GRAPH_FORMATS, OPTIONS, overview, shortUsage, type Option } from "./commands";
import { bashCompletion } from "./completion";
import { diagnosticOf, Reporter, type ReportOptions } from "./diagnostics";
import { displayName, fileBlocks, FileReadError, NotTextError } from "./file-blocks";
import { printError, printLine, writeAll } from "./output";
import { PartsWriter } from "./parts-writer";
import { exportStack, refreshStack, tail, type StackSelection } from "./pulumi-cli";
import { spawnSync } from "./spawn";
import { topologyOfStack } from "./stack-graph";
import { stackInterfaces, type StackInterface } from "./stack-state";
import { DEFAULT_MAX_HANDSHAKE_AGE, formatStatusTable, statusReport, type StatusReport } from "./status";
import { Timings } from "./timings";

/** Raised for bad command lines: exit 2 with the command's usage. */
class UsageError extends Error {}

type Values = { [K in Option]?: (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string };
type Print = (line: string) => void;

/** The package's version, from its package.json (found upwards from this file: built or bundled). */
function version(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (json.name === "pulumi-wireguard-fabric") return json.version ?? "unknown";
    }
    if (path.dirname(dir) === dir) return "unknown";
  }
}

/** `unknown NOUN "word"` with the closest known one, when there is one. */
function unknown(noun: string, word: string, known: readonly string[]): string {
  const meant = closestOf(word, known);
  return `unknown ${noun} "${word}"${meant ? `; did you mean "${meant}"?` : ""}`;
}

function dialectOf(values: Values): Dialect | undefined {
  const dialect = values.dialect;
  if (dialect !== undefined && !(DIALECTS as readonly string[]).includes(dialect)) throw new UsageError(`--dialect must be one of ${DIALECTS.join(", ")}`);
  return dialect as Dialect | undefined;
}

/**
 * One FILE read and checked, its problems reported as `reporter` says: parse problems (the file
 * then has no config), then, unless `validate` is false, the fabrics' own and those between
 * them. `blocks` is the file's text when the caller reads it (see fileBlocks).
 */
function check(
  file: string,
  values: Values,
  reporter: Reporter,
  options: { readonly validate?: boolean; readonly blocks?: Iterable<string>; readonly timings?: Timings; readonly proxmoxReading?: boolean } = {},
): Checked | undefined {
  const name = displayName(file);
  const timings = options.timings ?? new Timings();
  let config: SectionConfig;
  try {
    config = timings.time("parse", () => parseSectionConfig(options.blocks ?? fileBlocks(file), name, { dialect: dialectOf(values) }));
  } catch (error) {
    if (error instanceof NotTextError || error instanceof FileReadError) {
      reporter.add({ file: name, ...(error instanceof NotTextError ? { line: error.line } : {}), severity: "error", message: error.message.replace(`${name} `, "") });
      return undefined;
    }
    if (!(error instanceof SectionConfigError)) throw error;
    for (const problem of error.problems) reporter.add(diagnosticOf(problem, name, values.dialect === "rfc" ? "rfc" : "proxmox"));
    reporter.addOmitted(error.omitted);
    return undefined;
  }
  if (config.fabrics.length === 0) reporter.add({ file: name, severity: "error", message: 'no WireGuard fabric in it (no "wireguard_fabric:" section)' });
  if (options.validate === false) return { config, views: [] };
  const report = (fabric: string, problem: Problem): void => reporter.add(diagnosticOf(problem, name, config.dialect, { fabric, line: config.lineOf(fabric, problem.path) }));
  const views = timings.time("prepare", () => {
    const prepared = config.fabrics.map((fabric) => prepareFabric(fabric));
    prepared.forEach((one, i) => {
      for (const problem of one.ok ? one.warnings : one.problems) report((config.fabrics[i] as Fabric).name, problem);
    });
    for (const problem of validateAcrossFabrics(config.fabrics)) report(problem.fabric as string, problem);
    // an invalid fabric has no interfaces to act on: its errors stop the command
    return prepared.map((one) => (one.ok ? one.views : []));
  });
  // validate's: what Proxmox VE itself would not read as the file means (what fmt would refuse to write)
  if (options.proxmoxReading && config.dialect === "proxmox" && reporter.errors === 0) {
    timings.time("proxmox-reading", () => {
      for (const fabric of config.fabrics) for (const problem of proxmoxReadingProblems(fabric)) report(fabric.name, problem);
    });
  }
  return { config, views };
}

/** A file read: its fabrics and, in the same order, their resolved interfaces (none when not validated). */
interface Checked {
  readonly config: SectionConfig;
  readonly views: readonly (readonly InterfaceView[])[];
}

function reportOptions(values: Values): ReportOptions {
  return { json: values.json === true, quiet: values.quiet === true, strict: values.strict === true };
}

function validate(files: readonly string[], values: Values, out: Print, err: Print): number {
  const timings = new Timings();
  const results = files.map((file) => {
    const reporter = new Reporter(reportOptions(values), err);
    const checked = check(file, values, reporter, { timings, proxmoxReading: true });
    reporter.finish();
    const config = checked?.config;
    if (checked && config && !reporter.failed && !values.json && !values.quiet) {
      const nodes = config.fabrics.reduce((n, f) => n + Object.keys(f.nodes).length, 0);
      const ifaces = checked.views.reduce((n, views) => n + views.length, 0);
      out(`${displayName(file)}: ok (${config.dialect} dialect): ${config.fabrics.length} fabric(s), ${nodes} node(s), ${ifaces} interface(s), ${reporter.warnings} warning(s)`);
    }
    return { file: displayName(file), valid: !reporter.failed, ...(config ? { dialect: config.dialect } : {}), errors: reporter.errors, warnings: reporter.warnings, omitted: reporter.omitted, problems: reporter.shown };
  });
  const valid = results.every((result) => result.valid);
  if (values.json) out(JSON.stringify({ valid, files: results }, null, 2));
  timings.report(err);
  return valid ? 0 : 1;
}

function pickFabric(config: SectionConfig, node: string, fabricName?: string): Fabric {
  const candidates = config.fabrics.filter((f) => (fabricName ? f.name === fabricName : node in f.nodes));
  if (candidates.length === 0) {
    if (fabricName) throw new UsageError(unknown("fabric", fabricName, config.fabrics.map((f) => f.name)));
    throw new UsageError(unknown("node", node, config.fabrics.flatMap((f) => Object.keys(f.nodes))));
  }
  if (candidates.length > 1) throw new UsageError(`node "${node}" is in fabrics ${candidates.map((f) => f.name).join(", ")}; choose one with --fabric`);
  return candidates[0] as Fabric;
}

function render(file: string, values: Values, out: Print, err: Print): number {
  const format = (values.format ?? "wg") as ConfigFormat;
  if (!CONFIG_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${CONFIG_FORMATS.join(", ")}`);
  if (values.all) {
    if (!values.out) throw new UsageError("render --all needs --out DIR");
    if (values.node || values.iface || values.fabric || values["private-key-file"]) throw new UsageError("render --all takes no --node, --iface, --fabric or --private-key-file");
  } else {
    if (values.out) throw new UsageError("--out goes with --all");
    if (!values.node) throw new UsageError("render needs --node NAME");
  }
  const reporter = new Reporter(reportOptions(values), err);
  const timings = new Timings();
  const checked = check(file, values, reporter, { timings });
  reporter.finish();
  if (!checked || reporter.failed) return 1;
  refuseLostDefaultRoutes(checked, format, values.all ? undefined : values.node);
  const code = values.all ? renderAll(checked, format, values.out as string, timings, out, values.quiet === true) : renderNode(checked, values, format, out);
  timings.report(err);
  return code;
}

/** The stanza formats: they route a peer's prefixes with `ip route`, and have no policy routing. */
const STANZA_FORMATS: readonly ConfigFormat[] = ["ifupdown2", "proxmox-stanza"];

/**
 * A full tunnel's default route (`0.0.0.0/0`, `::/0`) lives in wg-quick's policy routing, which
 * a stanza has not: rendering one as a stanza would leave it out without a word, so it is refused,
 * naming the interface (of `node` only, when given).
 */
function refuseLostDefaultRoutes({ config, views }: Checked, format: ConfigFormat, node?: string): void {
  if (!STANZA_FORMATS.includes(format)) return;
  const problems = views.flatMap((fabricViews, i) =>
    fabricViews
      .filter((view) => (node === undefined || view.node === node) && view.peers.some((peer) => peer.allowedIps.some((route) => route.prefix === 0)))
      .map((view) =>
        problemAt(
          "error",
          { fabric: (config.fabrics[i] as Fabric).name, path: ["nodes", view.node, "interfaces", view.iface] },
          `routes a peer's default route (a full tunnel), which needs wg-quick's policy routing: --format ${format} has none and would leave it out; render it with --format wg-quick`,
        ),
      ),
  );
  if (problems.length > 0) throw new FabricError(problems);
}

function renderNode({ config, views: prepared }: Checked, values: Values, format: ConfigFormat, out: Print): number {
  const node = values.node as string;
  const fabric = pickFabric(config, node, values.fabric);
  if (fabric.nodes[node]?.role !== "internal") {
    const peers = Object.entries(fabric.nodes).flatMap(([name, spec]) => (spec.role === "internal" && spec.peers.some((peer) => peer.node === node) ? [name] : []));
    throw new UsageError(`node "${node}" is external: we make no config for it (its operator does, with the public keys of ${peers.length > 0 ? peers.join(", ") : "the nodes it peers with"}); render those with --node`);
  }
  const views = (prepared[config.fabrics.indexOf(fabric)] ?? []).filter((v) => v.node === node && (!values.iface || v.iface === values.iface));
  if (views.length === 0) throw new UsageError(unknown(`interface of node "${node}":`, values.iface ?? "", Object.keys((fabric.nodes[node] as { interfaces: object }).interfaces)));
  const publicKeys = recordedPublicKeys(fabric);
  const keyFile = values["private-key-file"];
  const keyed = keyFile ? keyedInterface(keyFile, views, publicKeys) : undefined;
  const texts = views.map((view) => {
    const text = renderFormat(format, view, { publicKeys, privateKey: view === keyed?.view ? keyed.privateKey : undefined });
    return values.iface ? text : `# ${view.iface}\n${text}`;
  });
  out(texts.join("\n").replace(/\n$/, ""));
  return 0;
}

/**
 * The interface the private key in `keyFile` belongs to, of those to render: the one whose
 * public key the file records is the key's (one private key is one interface's), or the only
 * one when its public key is not recorded. Anything else is refused, never quoting the file.
 */
function keyedInterface(keyFile: string, views: readonly InterfaceView[], publicKeys: ReadonlyMap<string, string>): { view: InterfaceView; privateKey: string } {
  const privateKey = readFileSync(keyFile, "utf8").trim();
  const refuse = (problem: string): never => {
    throw new FabricError([problemAt("error", { path: [`--private-key-file ${keyFile}`] }, problem)]);
  };
  if (!isWgKey(privateKey)) return refuse("does not hold a WireGuard private key (32 bytes of base64, as `wg genkey` prints it)");
  const ids = views.map((view) => view.id).join(", ");
  if (views.some((view) => publicKeys.get(view.id) === privateKey)) return refuse(`holds the public key of ${ids}, not its private key`);
  const derived = publicKeyOf(privateKey);
  const owner = views.find((view) => publicKeys.get(view.id) === derived);
  if (owner) return { view: owner, privateKey };
  const only = views.length === 1 ? (views[0] as InterfaceView) : undefined;
  const recorded = only && publicKeys.get(only.id);
  if (only && !recorded) return { view: only, privateKey };
  if (recorded) return refuse(`holds the private key of ${derived}, but the file records ${recorded} as ${ids}'s public key`);
  return refuse(`is the private key of none of ${ids} (its public key is ${derived}): name the interface it is for with --iface`);
}

/** Where `render --all` puts an interface's file. */
function renderedPath(dir: string, view: InterfaceView, format: ConfigFormat): string {
  const stanza = format === "ifupdown2" || format === "proxmox-stanza";
  return path.join(dir, view.node, stanza ? view.iface : `${view.iface}.conf`);
}

/** `render --all`: every internal node's interfaces of a validated file written under `dir`. */
function renderAll({ config, views }: Checked, format: ConfigFormat, dir: string, timings: Timings, out: Print, quiet: boolean): number {
  let files = 0;
  const made = new Set<string>();
  const written = new Set<string>();
  const writer = new PartsWriter();
  for (const [i, fabric] of config.fabrics.entries()) {
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
      written.add(path.relative(dir, file));
      files++;
    }
  }
  const removed = timings.time("write", () => removeStale(dir, written));
  if (!quiet) out(`${dir}: ${files} file(s) of ${made.size} node(s) written${removed > 0 ? `, ${removed} of an earlier run removed` : ""}`);
  return 0;
}

/** The list, in DIR, of the files `render --all` wrote there last (so that only those are ever removed). */
const RENDERED_LIST = ".wg-fabric-rendered";

/**
 * Removes what an earlier `render --all` wrote into `dir` and this one did not (a node or
 * interface no longer in the file), and the folders that leaves empty; nothing else of `dir` is
 * touched. Then lists what this run wrote. Returns how many files went.
 */
function removeStale(dir: string, written: ReadonlySet<string>): number {
  const list = path.join(dir, RENDERED_LIST);
  const earlier = existsSync(list) ? readFileSync(list, "utf8").split("\n").filter(Boolean) : [];
  let removed = 0;
  for (const file of earlier) {
    if (written.has(file) || path.isAbsolute(file) || file.split("/").includes("..")) continue;
    rmSync(path.join(dir, file), { force: true });
    removed++;
    const folder = path.join(dir, path.dirname(file));
    if (folder !== dir && existsSync(folder) && readdirSync(folder).length === 0) rmdirSync(folder);
  }
  writeFileSync(list, [...written].map((file) => `${file}\n`).join(""), { mode: 0o600 });
  return removed;
}

/**
 * Replaces `file` with `text` as gofmt -w does, but atomically: a file beside it, with the old
 * one's mode, renamed over it (a reader sees the old text or the new, never a part).
 */
function writeInPlace(file: string, text: string): void {
  const mode = statSync(file).mode & 0o7777;
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.wg-fabric-${process.pid}`);
  try {
    writeFileSync(temporary, text, { mode, flag: "wx" });
    chmodSync(temporary, mode);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * The canonical file. What Proxmox VE's dialect cannot hold changes what the file means (a peer's
 * replacing allowed_ips would add, an MTU or keepalive would go): each is named by its line, and
 * nothing is written unless `force`. `--check` and `--diff` write nothing: they say which files
 * are not canonical, and how they would change.
 */
function fmt(files: readonly string[], values: Values, out: Print, err: Print): number {
  const compare = values.check === true || values.diff === true;
  const write = values.write === true;
  if (write && compare) throw new UsageError("fmt --write goes without --check and --diff");
  if (write && files.includes("-")) throw new UsageError("fmt --write writes files: - (standard input) has none");
  if (files.length > 1 && !compare && !write) throw new UsageError("fmt takes several FILEs with --write, --check or --diff only");
  let failed = false;
  for (const file of files) {
    const name = displayName(file);
    const reporter = new Reporter(reportOptions(values), err);
    // fmt prints the whole file anyway: the text is kept for --check and --diff
    let original = "";
    const blocks = function* (): Generator<string> {
      for (const block of fileBlocks(file)) {
        original = original ? `${original}\n${block}` : block;
        yield block;
      }
    };
    const config = check(file, values, reporter, { validate: false, blocks: blocks() })?.config;
    if (!config || reporter.errors > 0) {
      reporter.finish();
      failed = true;
      continue;
    }
    const force = values.force === true;
    const located = (problem: Problem, severity: Problem["severity"]): void => {
      const fabric = problem.fabric ?? "";
      reporter.add(diagnosticOf({ ...problem, severity }, name, config.dialect, { fabric, line: config.lineOf(fabric, problem.path) }));
    };
    let text: string;
    try {
      text = writeSectionConfig(config, { dialect: values.rfc ? "rfc" : "proxmox", onWarning: (problem) => located(problem, force ? "warning" : "error") });
    } catch (error) {
      // what Proxmox VE's dialect cannot hold at all: --force does not help, the RFC's dialect does
      if (!(error instanceof FabricError)) throw error;
      for (const problem of error.problems) located({ ...problem, message: `${problem.message}; ${RFC_ONLY}` }, "error");
      reporter.finish();
      err(`${name}: nothing written: Proxmox VE's dialect cannot hold the fabric (--force writes what changes a key's meaning, not this; --rfc writes it)`);
      failed = true;
      continue;
    }
    reporter.finish();
    if (reporter.errors > 0) {
      err(`${name}: nothing written: Proxmox VE would not read the file as it means (each key above; --rfc keeps every key; --force writes it anyway)`);
      failed = true;
      continue;
    }
    if (reporter.failed) failed = true;
    if (write) {
      if (original !== text) writeInPlace(file, text);
      continue;
    }
    if (!compare) {
      out(text.replace(/\n$/, ""));
      continue;
    }
    if (original === text) continue;
    if (values.check) {
      out(name);
      failed = true;
    }
    if (values.diff) out(createTwoFilesPatch(name, name, original, text, "as it is", "canonical").replace(/\n$/, ""));
  }
  return failed ? 1 : 0;
}

/** A stack's interfaces and their status, refreshed first unless asked not to; `refreshed` says whether that worked. */
function stackStatus(
  selection: StackSelection,
  refresh: boolean,
  maxAge: number,
  err: Print,
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

function selectionOf(values: Values): StackSelection {
  return { stack: values.stack, cwd: values.cwd };
}

function status(values: Values, out: Print, err: Print): number {
  const maxAge = values["max-age"] === undefined ? DEFAULT_MAX_HANDSHAKE_AGE : Number(values["max-age"]);
  if (!Number.isInteger(maxAge) || maxAge <= 0) throw new UsageError("--max-age must be a whole number of seconds above 0");
  const { report, refreshed } = stackStatus(selectionOf(values), values["no-refresh"] !== true, maxAge, err);
  out(values.json ? JSON.stringify({ ...report, refreshed }, null, 2) : formatStatusTable(report));
  return report.healthy && refreshed ? 0 : 1;
}

function graph(positionals: readonly string[], values: Values, out: Print, err: Print): number {
  const format = (values.format ?? "dot") as (typeof GRAPH_FORMATS)[number];
  if (!GRAPH_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${GRAPH_FORMATS.join(", ")}`);
  let topology: Topology;
  let failed = false;
  if (positionals.length === 1) {
    if (values.stack || values.cwd || values["no-refresh"]) throw new UsageError("graph takes a FILE or a stack (--stack, --cwd), not both");
    const file = positionals[0] as string;
    // the drawing shows the fabric's problems; they are printed too, as validate prints them
    const reporter = new Reporter(reportOptions(values), err);
    const config = check(file, values, reporter)?.config;
    reporter.finish();
    if (!config) return 1;
    failed = values.strict === true && (reporter.errors > 0 || reporter.warnings > 0);
    const names = config.fabrics.map((f) => f.name);
    const fabric = values.fabric ? config.fabrics.find((f) => f.name === values.fabric) : config.fabrics.length === 1 ? config.fabrics[0] : undefined;
    if (!fabric) throw new UsageError(values.fabric ? unknown("fabric", values.fabric, names) : `the file has ${names.length} fabrics (${names.join(", ")}): choose one with --fabric`);
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
  return failed ? 1 : 0;
}

/** `parseArgs`' options, from the table. */
const PARSE_OPTIONS = Object.fromEntries(
  Object.entries(OPTIONS).map(([name, spec]) => [name, { type: spec.type, ...("short" in spec ? { short: spec.short } : {}) }]),
) as { [K in Option]: { type: (typeof OPTIONS)[K]["type"]; short?: string } };

function run(command: string, positionals: string[], values: Values, out: Print, err: Print): number {
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(unknown("command", command, Object.keys(COMMANDS)));
  for (const option of Object.keys(values) as Option[]) {
    if (option !== "version" && ![...spec.options, ...COMMON].includes(option)) throw new UsageError(`${command} takes no --${option}`);
  }
  const [least, most] = spec.files;
  if (positionals.length < least || positionals.length > most) {
    throw new UsageError(most === 0 ? `${command} takes no FILE` : least === most ? `${command} needs exactly one ${command === "completion" ? "shell" : "FILE"}` : most === 1 ? `${command} takes at most one FILE` : `${command} needs a FILE`);
  }
  switch (command) {
    case "validate":
      return validate(positionals, values, out, err);
    case "render":
      return render(positionals[0] as string, values, out, err);
    case "fmt":
      return fmt(positionals, values, out, err);
    case "keys":
      out(keyTable());
      return 0;
    case "status":
      return status(values, out, err);
    case "graph":
      return graph(positionals, values, out, err);
    case "help": {
      const topic = positionals[0];
      if (topic === undefined) out(overview());
      else if (topic in COMMANDS) out(commandHelp(topic));
      else throw new UsageError(unknown("command", topic, Object.keys(COMMANDS)));
      return 0;
    }
    default: {
      if (positionals[0] !== "bash") throw new UsageError(`completion is made for bash only, not "${positionals[0]}"`);
      out(bashCompletion().replace(/\n$/, ""));
      return 0;
    }
  }
}

/** Runs the CLI; returns the exit code. Exported for tests. */
export function main(argv: readonly string[], out: Print = printLine, err: Print = printError): number {
  const [first, ...rest] = argv;
  const command = first !== undefined && first in COMMANDS ? first : undefined;
  try {
    if (first === "--version" || first === "-V") {
      out(`wg-fabric ${version()}`);
      return 0;
    }
    if (first === undefined || first === "--help" || first === "-h") {
      (first ? out : err)(overview());
      return first ? 0 : 2;
    }
    if (!command) throw new UsageError(unknown("command", first, Object.keys(COMMANDS)));
    const { values, positionals } = parseArgs({ args: [...rest], allowPositionals: true, options: PARSE_OPTIONS, strict: true });
    if (values.help) {
      out(commandHelp(command));
      return 0;
    }
    if (values.version) {
      out(`wg-fabric ${version()}`);
      return 0;
    }
    return run(command, positionals, values as Values, out, err);
  } catch (error) {
    // the reader of our output went away (`| head`): nothing more to say
    if ((error as { code?: string }).code === "EPIPE") return 0;
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      err(`wg-fabric: ${(error as Error).message}`);
      err(shortUsage(command));
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
