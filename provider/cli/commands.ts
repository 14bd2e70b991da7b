import { CONFIG_FORMATS } from "../fabric";
import { DIALECTS } from "../section-config";
import { DEFAULT_PROBLEM_LIMIT } from "./diagnostics";
import { DEFAULT_MAX_HANDSHAKE_AGE } from "./status";

/** The graph command's output formats. */
export const GRAPH_FORMATS = ["dot", "svg", "png", "mermaid"] as const;

/**
 * Every option of every command: how `parseArgs` reads it, the value it takes (for usage and
 * completion: a word, a list of choices, a file or a folder) and what it does. Help texts,
 * usage lines and the shell completion are made from this table and {@link COMMANDS}.
 */
export const OPTIONS = {
  help: { type: "boolean", short: "h", about: "show the command's help" },
  version: { type: "boolean", short: "V", about: "print the version" },
  quiet: { type: "boolean", short: "q", about: "print errors only: no warnings, no summary" },
  strict: { type: "boolean", about: "warnings fail the command too (exit 1)" },
  json: { type: "boolean", about: "print one JSON document on stdout" },
  dialect: { type: "string", value: DIALECTS, about: "read FILE in this dialect (detected when not given)" },
  node: { type: "string", value: "NAME", about: "the node whose interfaces to render" },
  fabric: { type: "string", value: "NAME", about: "the fabric, when the file has several" },
  iface: { type: "string", value: "IFACE", about: "one interface only" },
  format: { type: "string", value: "FORMAT", about: "the output format (the command's formats)" },
  "private-key-file": { type: "string", value: "file", about: "insert the private key from this file (on the node itself)" },
  all: { type: "boolean", about: "every internal node's interfaces, written under --out" },
  out: { type: "string", value: "dir", about: "where to write" },
  rfc: { type: "boolean", about: "write the RFC's dialect with every key of ours" },
  force: { type: "boolean", about: "write even what changes the file's meaning" },
  write: { type: "boolean", short: "w", about: "write the canonical form back to each FILE (atomically, keeping its mode)" },
  check: { type: "boolean", about: "write nothing; exit 1 when a FILE is not canonical (its name on stdout)" },
  diff: { type: "boolean", about: "write nothing; print what fmt would change, as a unified diff" },
  stack: { type: "string", value: "NAME", about: "the Pulumi stack (pulumi's own --stack)" },
  cwd: { type: "string", value: "dir", about: "the Pulumi project folder (pulumi's own --cwd)" },
  "no-refresh": { type: "boolean", about: "use the last recorded state, without pulumi refresh" },
  "max-age": { type: "string", value: "SECONDS", about: "how old the latest handshake may be" },
} as const;

/** An option's name. */
export type Option = keyof typeof OPTIONS;

/** Options every command takes. */
export const COMMON: readonly Option[] = ["help", "quiet", "strict"];

const DIALECT_HELP = `--dialect says how to read FILE (detected when not given): proxmox, as Proxmox VE
writes it (a peer's allowed_ips add to the node's), or rfc, the RFC's with our keys (they
replace them). A file using any key of ours (key_dir, apply_mode, mtu …) is read as rfc.`;

const PROBLEMS_HELP = `Each problem is one line on stderr: FILE:LINE: SEVERITY: FABRIC: NODE: IFACE: KEY: message
(the parts it has), keys spelled as the file spells them; at most ${DEFAULT_PROBLEM_LIMIT} are printed, then a count.
-q prints errors only; --strict makes warnings fail the command (exit 1).`;

/** A command: its one-line summary, its usage lines, its help, the options and FILE arguments it takes. */
export interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly help: string;
  readonly options: readonly Option[];
  /** How many FILE arguments it takes: at least, at most. */
  readonly files: readonly [number, number];
  /** The values its --format takes. */
  readonly formats?: readonly string[];
}

/** The commands, in the order `wg-fabric --help` lists them. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  validate: {
    summary: "check fabrics.cfg files; exit 1 with one problem per line",
    usage: "wg-fabric validate FILE… [--json] [-q] [--strict] [--dialect proxmox|rfc]",
    help: `Parses and validates every WireGuard fabric in each FILE (a Proxmox fabrics.cfg; - reads
standard input), and the rules between them (a node's listen ports and interface names differ
across fabrics). A file in Proxmox VE's dialect also gets a warning for each key Proxmox VE
would not read as the file means it (what fmt rewrites or refuses). Exit 0 with a summary line
per file; exit 1 when a file has an error.
--json prints one JSON document on stdout instead: {"valid", "files": [{"file", "valid",
"dialect", "errors", "warnings", "omitted", "problems": [{"file", "line", "severity",
"fabric", "node", "iface", "peer", "key", "message", "hint"}]}]} (absent parts left out).
${PROBLEMS_HELP}

${DIALECT_HELP}`,
    options: ["json", "dialect"],
    files: [1, Infinity],
  },
  render: {
    summary: "print the config of a node's interfaces, or write every node's (--all)",
    usage: `wg-fabric render FILE --node NAME [--fabric NAME] [--iface IFACE] [--dialect proxmox|rfc]
                         [--format ${CONFIG_FORMATS.join("|")}] [--private-key-file PATH]
       wg-fabric render FILE --all --out DIR [--format …] [--dialect proxmox|rfc]`,
    help: `Prints the config of NODE's interfaces (all of them, each after a "# IFACE" line,
unless --iface is given). --format defaults to wg (the wg(8) setconf format);
proxmox is /etc/wireguard/proxmox/IFACE.conf as a Proxmox VE node writes it,
proxmox-stanza its ifupdown2 stanza.
--private-key-file inserts the key from PATH (run it on the node itself) into the interface it
belongs to: the one whose public_key the file records is the key's; a key whose public key the
file records for none of them is refused (with one interface whose key is not recorded, it is
that one's). Without it the PrivateKey line is left out.
--all validates every fabric of FILE and writes each internal node's interfaces as
DIR/NODE/IFACE.conf (stanza formats: DIR/NODE/IFACE), mode 0600, in one run; what an earlier
--all wrote there for a node or interface no longer in FILE is removed (DIR/.wg-fabric-rendered
lists what it wrote; nothing else in DIR is touched).
Warnings are printed as validate prints them; errors write nothing (exit 1).
${PROBLEMS_HELP}`,
    options: ["node", "fabric", "iface", "format", "private-key-file", "dialect", "all", "out"],
    files: [1, 1],
    formats: CONFIG_FORMATS,
  },
  fmt: {
    summary: "print the canonical fabrics.cfg (Proxmox VE's dialect, or --rfc)",
    usage: "wg-fabric fmt FILE… [-w | --check | --diff] [--rfc] [--force] [--dialect proxmox|rfc]",
    help: `Prints FILE in canonical form (tabs, fixed key order, canonical addresses) in Proxmox VE's
dialect, as every release of it reads the file: an internal node's endpoint as its host (its
peers dial the listen port), and a peer's allowed_ips on the node it points at when every peer
of that node adds the same (proxmox-ve-config 0.10.1 reads neither a port there nor a peer's
allowed_ips). A key it does not know, or gives another meaning, or that no form every release
reads keeps, would change what the file means: each is named with its line on stderr, and
nothing is written (exit 1) unless --force, which writes the file anyway. Exit 1 also when a
fabric cannot be written in it at all, --force or not (an interface name longer than 8
characters, an external node without endpoint, as a road warrior has): --rfc writes those.
Comments are not kept.
--rfc writes the RFC's dialect with every key of ours.
-w (--write) writes the canonical form back to each FILE instead of printing it (as gofmt -w),
atomically and keeping the file's mode; a file with an error is left as it is (exit 1).
("wg-fabric fmt f.cfg > f.cfg" empties the file before fmt reads it: the shell truncates it first.)
--check writes nothing: it prints the name of each FILE that is not canonical and exits 1 when
there is one (as terraform fmt -check); --diff prints what would change as a unified diff.
Several FILEs go with -w, --check or --diff. A file without a WireGuard fabric is an error.
${PROBLEMS_HELP}

${DIALECT_HELP}`,
    options: ["rfc", "force", "write", "check", "diff", "dialect"],
    files: [1, Infinity],
  },
  keys: {
    summary: "print the table of fabrics.cfg keys and their TypeScript fields",
    usage: "wg-fabric keys",
    help: `Prints every fabrics.cfg key with its TypeScript field and meaning, as a Markdown table
(the README's); "ours" marks keys Proxmox VE does not have.`,
    options: [],
    files: [0, 0],
  },
  status: {
    summary: "refresh a stack and print its tunnels; exit 1 when one has no recent handshake",
    usage: "wg-fabric status [--stack NAME] [--cwd DIR] [--no-refresh] [--max-age SECONDS] [--json]",
    help: `Runs "pulumi refresh" on the stack (unless --no-refresh), then prints one row per declared
peering of its managed interfaces: interface, peer, endpoint, age of the latest handshake,
bytes received and sent, and what refresh found changed on the node (drift), the link of the
node's own addresses (dummy_<fabric>) included.
Exit 0 when every peering had a handshake in the last --max-age seconds (default
${DEFAULT_MAX_HANDSHAKE_AGE}, when WireGuard drops a session's keys) on an interface that is up; exit 1
otherwise, or when the refresh failed (then the rows are the last recorded ones).
--json prints the same as one JSON object. --stack and --cwd are pulumi's own.`,
    options: ["stack", "cwd", "no-refresh", "json", "max-age"],
    files: [0, 0],
  },
  graph: {
    summary: "draw a fabrics.cfg, or a stack with its status (DOT, SVG, PNG or Mermaid)",
    usage: `wg-fabric graph [FILE [--fabric NAME] [--dialect proxmox|rfc]] [--stack NAME] [--cwd DIR] [--no-refresh]
                      [--format ${GRAPH_FORMATS.join("|")}] [--out PATH]`,
    help: `Draws a fabric: each internal node as a box around its interfaces (addresses, port),
external nodes apart, one edge per peering (both directions merged). One-sided peerings
are dashed and orange; nodes with validation errors red, the errors listed.
From FILE (a fabrics.cfg), or without FILE from the stack (--stack, --cwd), which is
refreshed first (unless --no-refresh) so edges are coloured by handshake age: green
recent, orange stale, red never or interface down.
--format defaults to dot; svg and png need Graphviz's dot (apt-get install graphviz);
mermaid renders in Markdown. Written to --out PATH, else to stdout.`,
    options: ["fabric", "format", "out", "dialect", "stack", "cwd", "no-refresh"],
    files: [0, 1],
    formats: GRAPH_FORMATS,
  },
  help: {
    summary: "show the help of a command",
    usage: "wg-fabric help [COMMAND]",
    help: "Prints the help of COMMAND (the same as wg-fabric COMMAND --help), or the list of commands.",
    options: [],
    files: [0, 1],
  },
  completion: {
    summary: "print the bash completion of wg-fabric",
    usage: "wg-fabric completion bash",
    help: `Prints a bash completion script for wg-fabric, made from the same tables as this help:
  source <(wg-fabric completion bash)
or save it as /etc/bash_completion.d/wg-fabric.`,
    options: [],
    files: [1, 1],
  },
};

/** `wg-fabric --help`: the commands and the options every command takes. */
export function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `usage: wg-fabric <command> [options]

Commands:
${lines.join("\n")}

-V, --version prints the version; -h, --help a command's help.
Run "wg-fabric help <command>" for a command's options.`;
}

/** A command's whole help: its usage lines, then its text. */
export function commandHelp(name: string): string {
  const command = COMMANDS[name] as Command;
  return `usage: ${command.usage}\n\n${command.help}`;
}

/** What a usage error prints after its message: the usage lines and where the rest is. */
export function shortUsage(name: string | undefined): string {
  const command = name === undefined ? undefined : COMMANDS[name];
  return command ? `usage: ${command.usage}\nRun "wg-fabric help ${name}" for more.` : 'usage: wg-fabric <command> [options]\nRun "wg-fabric --help" for the commands.';
}
