import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { z } from "zod";
import { prng, seedFrom } from "./helpers";
import { FIXTURES } from "./rfc.test";

const CLI = path.join(__dirname, "../../cli/wg-fabric.js");
const RFC = path.join(FIXTURES, "rfc-fabrics.cfg");
const PACKAGE = JSON.parse(readFileSync(path.join(__dirname, "../../../package.json"), "utf8")) as { version: string };

function run(args: readonly string[], input?: string | Buffer, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { input, encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `validate --json`'s document, as its help describes it. */
const diagnosticSchema = z.strictObject({
  file: z.string(),
  line: z.number().int().positive().optional(),
  severity: z.enum(["error", "warning"]),
  fabric: z.string().optional(),
  node: z.string().optional(),
  iface: z.string().optional(),
  peer: z.number().int().nonnegative().optional(),
  key: z.string().optional(),
  message: z.string().min(1),
  hint: z.string().optional(),
});
const validateJsonSchema = z.strictObject({
  valid: z.boolean(),
  files: z.array(
    z.strictObject({
      file: z.string(),
      valid: z.boolean(),
      dialect: z.enum(["proxmox", "rfc"]).optional(),
      errors: z.number().int().nonnegative(),
      warnings: z.number().int().nonnegative(),
      omitted: z.number().int().nonnegative(),
      problems: z.array(diagnosticSchema),
    }),
  ),
});

describe("wg-fabric as operators expect a CLI to behave", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), "wgf-habits-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string | Buffer): string => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it("--version and -V print the package's version; help CMD is CMD --help; a usage error prints the usage lines and where the help is", () => {
    for (const flag of ["--version", "-V"]) assert.deepEqual(run([flag]), { status: 0, stdout: `wg-fabric ${PACKAGE.version}\n`, stderr: "" });
    assert.equal(run(["help", "fmt"]).stdout, run(["fmt", "--help"]).stdout);
    assert.match(run(["help"]).stdout, /^usage: wg-fabric <command> \[options\]\n\nCommands:\n {2}validate/);
    const bad = run(["fmt", RFC, "--nodes", "x"]);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, `wg-fabric: Unknown option '--nodes'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "--nodes"\n` +
      "usage: wg-fabric fmt FILE… [-w | --check | --diff] [--rfc] [--force] [--dialect proxmox|rfc]\nRun \"wg-fabric help fmt\" for more.\n");
    const typo = run(["valdate", RFC]);
    assert.deepEqual([typo.status, typo.stderr.split("\n")[0]], [2, 'wg-fabric: unknown command "valdate"; did you mean "validate"?']);
    assert.match(run(["render", RFC, "--node", "ocultist"]).stderr, /^wg-fabric: unknown node "ocultist"; did you mean "occultist"\?\n/m);
  });

  it("one layout for every problem, FILE:LINE: SEVERITY: FABRIC: NODE: IFACE: KEY: message, keys and fixes in the file's own syntax; -q keeps errors only; --strict fails on warnings", () => {
    const r = run(["validate", RFC]);
    assert.equal(r.status, 0);
    assert.equal(
      r.stderr,
      `${RFC}:12: warning: vpn: occultist: peers[0]: elementalist/wg0 has no peer back to occultist/wg0: the tunnel cannot come up; add to elementalist: peers type=internal,node=occultist,node_iface=wg0,iface=wg0\n`,
    );
    assert.deepEqual(run(["validate", "-q", RFC]), { status: 0, stdout: "", stderr: "" });
    const strict = run(["validate", "--strict", RFC]);
    assert.equal(strict.status, 1);
    assert.match(strict.stderr, /\n--strict: 1 warning\(s\) fail the command\n$/);
    // a TypeScript field in a message is the file's key: listen_port, not listenPort
    const clash = write("clash.cfg", readFileSync(RFC, "utf8").replace("interfaces name=wg0,listen_port=50000,public_key=y0k", "interfaces name=wg1,listen_port=50000\n        interfaces name=wg0,listen_port=50000,public_key=y0k"));
    const refused = run(["validate", clash]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /clash\.cfg:12: error: vpn: occultist: wg0: listen_port: port 50000 is already used by interface wg1 on this node\n/);
    assert.doesNotMatch(refused.stderr, /listenPort/);
  });

  it("validate --json: one document, each problem with file, line, severity, fabric, node, iface, peer, key, message and hint; several FILEs", () => {
    const typo = write("typo.cfg", readFileSync(RFC, "utf8").replace("\tendpoint 192.0.2.1", "\tendpoit 192.0.2.1").replace("listen_port=50000,public_key=y0k", "listen_prot=50000,public_key=y0k"));
    const r = run(["validate", "--json", RFC, typo]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "");
    const doc = validateJsonSchema.parse(JSON.parse(r.stdout));
    assert.equal(doc.valid, false);
    assert.deepEqual(doc.files.map((f) => [f.file, f.valid, f.errors, f.warnings]), [[RFC, true, 0, 1], [typo, false, 2, 0]]);
    assert.deepEqual(doc.files[0]?.problems[0], {
      file: RFC,
      line: 12,
      severity: "warning",
      fabric: "vpn",
      node: "occultist",
      peer: 0,
      message: "elementalist/wg0 has no peer back to occultist/wg0: the tunnel cannot come up",
      hint: "add to elementalist: peers type=internal,node=occultist,node_iface=wg0,iface=wg0",
    });
    assert.deepEqual(doc.files[1]?.problems, [
      { file: typo, line: 4, severity: "error", fabric: "vpn", node: "elementalist", key: "endpoit", message: "unknown key (Proxmox VE ignores it, so a misspelt key would silently vanish)", hint: 'did you mean "endpoint"?' },
      { file: typo, line: 11, severity: "error", fabric: "vpn", node: "occultist", iface: "wg0", key: "listen_prot", message: "unknown key", hint: 'did you mean "listen_port"?' },
    ]);
  });

  it("- reads standard input; a byte-order mark, binary bytes and text that is not UTF-8 are named as such, their bytes never printed", () => {
    const text = readFileSync(RFC, "utf8");
    const piped = run(["validate", "-"], text);
    assert.equal(piped.status, 0);
    assert.match(piped.stdout, /^<stdin>: ok \(proxmox dialect\)/);
    assert.equal(run(["fmt", "-"], text).stdout, run(["fmt", RFC]).stdout);
    const bom = run(["validate", write("bom.cfg", `\uFEFF${text}`)]);
    assert.deepEqual([bom.status, bom.stderr.split("\n")[0]], [1, `${dir}/bom.cfg:1: error: the file starts with a UTF-8 byte-order mark (U+FEFF), which Proxmox VE's parser does not skip; save the file without it`]);
    const binary = write("binary.cfg", Buffer.concat([Buffer.from("wireguard_fabric: vpn\n"), randomBytes(4096)]));
    const b = run(["validate", binary]);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /^\S+binary\.cfg:\d+: error: is not (a text file: a NUL byte at byte \d+|UTF-8 text on this line \(saved as Latin-1 or Windows-1252\?\)); a fabrics\.cfg is UTF-8 text\n$/);
    const latin1 = run(["validate", write("latin1.cfg", Buffer.from("wireguard_fabric: vpn\n\tpersistent_keepalive 25\n\nwireguard_node: vpn_caf\xe9\n", "latin1"))]);
    assert.equal(latin1.stderr, `${dir}/latin1.cfg:4: error: is not UTF-8 text on this line (saved as Latin-1 or Windows-1252?); a fabrics.cfg is UTF-8 text\n`);
  });

  it("bad input has limits: a 20 MB line is cut in its message, 20 MB of junk prints 100 problems and a count, in bounded memory", () => {
    const long = run(["validate", write("long.cfg", `${"x".repeat(20 << 20)}\n`)]);
    assert.equal(long.status, 1);
    assert.ok(long.stderr.length < 400, `${long.stderr.length} bytes of stderr`);
    assert.match(long.stderr, /long\.cfg:1: error: "x{120}…" \(20971520 characters\) is outside any section\n/);
    // seeded junk: lines of random printable words, some of them looking like sections and keys
    const seed = seedFrom("WGF_JUNK_SEED");
    const random = prng(seed);
    const words = ["wireguard_node:", "vpn_a", "peers", "\t", "x=y", "interfaces", "name=", ":", "=", "junk", "ключ", "🔑"];
    const lines: string[] = [];
    let size = 0;
    while (size < 20 << 20) {
      const line = Array.from({ length: 1 + Math.floor(random() * 8) }, () => words[Math.floor(random() * words.length)]).join(random() < 0.5 ? " " : "");
      lines.push(line);
      size += line.length + 1;
    }
    const junk = run(["validate", write("junk.cfg", `${lines.join("\n")}\n`)], undefined, { WG_FABRIC_TIMINGS: "1" });
    assert.equal(junk.status, 1, `seed ${seed} (replay with WGF_JUNK_SEED=${seed})`);
    const stderr = junk.stderr.trim().split("\n");
    const timings = JSON.parse(stderr.pop() as string) as { maxRssKiB: number };
    assert.equal(stderr.filter((line) => /junk\.cfg:\d+: error: /.test(line)).length, 100, `seed ${seed}`);
    assert.match(stderr[stderr.length - 1] as string, /^… and \d+ more problem\(s\) not shown \(\d+ error\(s\), 0 warning\(s\) in all\)$/);
    console.log(`      20 MB of junk (seed ${seed}): ${stderr.length} lines of stderr, peak RSS ${Math.round(timings.maxRssKiB / 1024)} MiB`);
    assert.ok(timings.maxRssKiB < 256 * 1024, `peak RSS ${timings.maxRssKiB} KiB (seed ${seed})`);
  });

  it("fmt --check exits 1 naming each FILE that is not canonical; --diff prints the change as a unified diff; both write nothing", () => {
    const canonical = write("canonical.cfg", `${run(["fmt", RFC]).stdout}`);
    assert.deepEqual(run(["fmt", "--check", canonical]), { status: 0, stdout: "", stderr: "" });
    const check = run(["fmt", "--check", canonical, RFC]);
    assert.deepEqual([check.status, check.stdout], [1, `${RFC}\n`]);
    const diff = run(["fmt", "--diff", RFC]);
    assert.equal(diff.status, 0);
    assert.match(diff.stdout, new RegExp(`^Index: ${RFC.replace(/[.]/g, "\\.")}\n={10,}\n--- ${RFC.replace(/[.]/g, "\\.")}\tas it is\n\\+\\+\\+ ${RFC.replace(/[.]/g, "\\.")}\tcanonical\n@@ `));
    assert.match(diff.stdout, /^-\s+endpoint 192\.0\.2\.2$/m);
    assert.match(diff.stdout, /^\+\tendpoint 192\.0\.2\.2$/m);
    assert.equal(readFileSync(RFC, "utf8").includes("        endpoint 192.0.2.2"), true, "the file is not written");
    assert.equal(run(["fmt", canonical, RFC]).status, 2, "several FILEs only with -w, --check or --diff");
  });

  it("fmt -w writes each FILE's canonical form in its place, atomically, keeping its mode; a file with an error stays as it is", () => {
    const messy = write("messy.cfg", readFileSync(RFC, "utf8"));
    chmodSync(messy, 0o640);
    const broken = write("broken.cfg", "wireguard_fabric: vpn\n\twhat is this\n");
    const written = run(["fmt", "-w", messy, broken]);
    assert.equal(written.status, 1, written.stderr);
    assert.equal(readFileSync(messy, "utf8"), run(["fmt", RFC]).stdout, "the canonical text, in place");
    assert.equal(statSync(messy).mode & 0o777, 0o640);
    assert.equal(readFileSync(broken, "utf8"), "wireguard_fabric: vpn\n\twhat is this\n");
    assert.deepEqual(readdirSync(dir).filter((file) => file.includes(".wg-fabric-")), [], "no file left beside");
    assert.deepEqual(run(["fmt", "--write", messy]), { status: 0, stdout: "", stderr: "" });
    assert.deepEqual(run(["fmt", "--check", messy]), { status: 0, stdout: "", stderr: "" });
    assert.equal(run(["fmt", "-w", "-"], "").status, 2, "standard input has no file to write");
    assert.equal(run(["fmt", "-w", "--check", messy]).status, 2);
  });

  it("fmt and validate agree on a file without a fabric (empty, comments only): an error, exit 1", () => {
    for (const [name, text] of [["empty.cfg", ""], ["comments.cfg", "# nothing here yet\n"]] as const) {
      const file = write(name, text);
      const [formatted, validated] = [run(["fmt", file]), run(["validate", file])];
      assert.deepEqual([formatted.status, formatted.stdout, formatted.stderr], [1, "", validated.stderr], name);
      assert.equal(validated.status, 1);
      // a comment on the first line is one Proxmox VE's parser refuses too
      assert.match(validated.stderr, name === "empty.cfg" ? /no WireGuard fabric in it/ : /:1: error: a comment here/);
    }
  });

  it("messages say what a new user got wrong in the file's words: a keepalive with a unit, a list of networks, an IPv6 endpoint without brackets; did-you-mean never offers the node itself", () => {
    const mesh = Array.from({ length: 12 }, (_, i) => `pve${i + 1}`);
    const node = (name: string, i: number, peers: string[]) =>
      [`wireguard_node: vpn_${name}`, "\trole internal", `\tendpoint 192.0.2.${i + 1}`, `\tinterfaces name=wg0,listen_port=51820,ip=10.0.0.${i + 1}/24`, ...peers.map((peer) => `\tpeers ${peer}`), ""];
    // the values' mistakes stop the reading; the peer to pve13 is checked once they are mended
    const text = (mended: boolean) =>
      [
        "wireguard_fabric: vpn",
        `\tpersistent_keepalive ${mended ? "25" : "25s"}`,
        "",
        ...mesh.flatMap((name, i) => node(name, i, [...mesh.filter((other) => other !== name).map((other) => `type=internal,node=${other},node_iface=wg0,iface=wg0`), ...(i === 0 ? ["type=internal,node=pve13,node_iface=wg0,iface=wg0", "type=external,node=x,iface=wg0"] : [])])),
        "wireguard_node: vpn_x",
        "\trole external",
        mended ? "\tallowed_ips 10.1.0.0/24\n\tallowed_ips 10.2.0.0/24" : "\tallowed_ips 10.1.0.0/24,10.2.0.0/24",
        `\tendpoint ${mended ? "[2001:db8::50]:51820" : "2001:db8::50:51820"}`,
        "\tpublic_key GDPUAnPOY5xGIjYXmcGyXZXbocjBr21dGQ5vwnjmdzA=",
        "",
      ].join("\n");
    const result = run(["validate", write("new-user.cfg", text(false))]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /:2: error: vpn: persistent_keepalive: must be a number of seconds, 0-65535, without unit \(25, not 25s\)/);
    assert.match(result.stderr, /: error: vpn: x: allowed_ips: "10\.1\.0\.0\/24,10\.2\.0\.0\/24" holds several networks: give one per entry \(in a fabrics\.cfg, one allowed_ips line each\)/);
    assert.match(result.stderr, /: error: vpn: x: endpoint: .*an IPv6 address with a port takes brackets: "\[2001:db8::50\]:51820"/);
    const mended = run(["validate", write("mended.cfg", text(true))]);
    const offered = /vpn: pve1: peers\[11\]: node: node "pve13" is not defined in fabric "vpn"(?:; did you mean "(\w+)"\?)?/.exec(mended.stderr);
    assert.ok(offered, mended.stderr);
    assert.notEqual(offered[1], "pve1", "a peer of pve1 to pve1 itself is refused: never offered");
  });

  it("render of a full tunnel as a stanza (ifupdown2, proxmox-stanza) is refused, naming the interface: the stanza has no policy routing for its default route", () => {
    const file = write(
      "full-tunnel.cfg",
      [
        "wireguard_fabric: vpn",
        "",
        "wireguard_node: vpn_a",
        "\trole internal",
        "\tendpoint 192.0.2.1",
        "\tfull_tunnel 1",
        "\tinterfaces name=wg0,listen_port=51820,ip=10.0.0.1/24",
        "\tpeers type=external,node=gw,iface=wg0",
        "",
        "wireguard_node: vpn_gw",
        "\trole external",
        "\tendpoint 192.0.2.9:51820",
        "\tallowed_ips 0.0.0.0/0",
        "\tpublic_key GDPUAnPOY5xGIjYXmcGyXZXbocjBr21dGQ5vwnjmdzA=",
        "",
      ].join("\n"),
    );
    const quick = run(["render", file, "--node", "a", "--format", "wg-quick"]);
    assert.equal(quick.status, 0, quick.stderr);
    assert.match(quick.stdout, /^AllowedIPs = 0\.0\.0\.0\/0$/m);
    for (const format of ["ifupdown2", "proxmox-stanza"]) {
      for (const args of [["--node", "a"], ["--all", "--out", path.join(dir, `ft-${format}`)]]) {
        const stanza = run(["render", file, ...args, "--format", format]);
        assert.deepEqual([stanza.status, stanza.stdout], [1, ""], `${format} ${args.join(" ")}`);
        assert.match(stanza.stderr, new RegExp(`vpn: a: wg0: routes a peer's default route \\(a full tunnel\\), which needs wg-quick's policy routing: --format ${format} has none`));
      }
      assert.equal(existsSync(path.join(dir, `ft-${format}`)), false, "nothing written");
    }
  });

  it("a hub with a road warrior (an external node without endpoint): Proxmox VE refuses the file, so validate and fmt say so by line and name --rfc, which writes it", () => {
    const file = write(
      "road-warrior.cfg",
      [
        "wireguard_fabric: hub",
        "",
        "wireguard_node: hub_h",
        "\trole internal",
        "\tendpoint 192.0.2.1",
        "\tinterfaces name=wg0,listen_port=51820,ip=10.9.0.1/24",
        "\tpeers type=external,node=phone,iface=wg0",
        "",
        "wireguard_node: hub_phone",
        "\trole external",
        "\tallowed_ips 10.9.0.2/32",
        "\tpublic_key GDPUAnPOY5xGIjYXmcGyXZXbocjBr21dGQ5vwnjmdzA=",
        "",
      ].join("\n"),
    );
    const refused = `${file}:9: error: hub: phone: endpoint: Proxmox VE needs host:port for an external node; Proxmox VE refuses such a file: keep it in the RFC dialect (wg-fabric fmt --rfc)`;
    const validated = run(["validate", file]);
    assert.deepEqual([validated.status, validated.stderr.trim()], [1, refused]);
    for (const force of [[], ["--force"]]) {
      const formatted = run(["fmt", ...force, file]);
      assert.deepEqual([formatted.status, formatted.stdout], [1, ""]);
      assert.deepEqual(formatted.stderr.trim().split("\n"), [refused, `${file}: nothing written: Proxmox VE's dialect cannot hold the fabric (--force writes what changes a key's meaning, not this; --rfc writes it)`]);
    }
    const rfc = run(["fmt", "--rfc", file]);
    assert.equal(rfc.status, 0, rfc.stderr);
    assert.equal(run(["validate", write("road-warrior-rfc.cfg", rfc.stdout)]).status, 0);
    const external = run(["render", file, "--node", "phone", "--dialect", "rfc"]);
    assert.equal(external.status, 2);
    assert.match(external.stderr, /node "phone" is external: we make no config for it \(its operator does, with the public keys of h\); render those with --node/);
  });

  it("render --node of a node in two fabrics names both fabrics to choose from", () => {
    const fabric = (name: string, port: number, subnet: number) =>
      [`wireguard_fabric: ${name}`, "", `wireguard_node: ${name}_a`, "\trole internal", `\tinterfaces name=${name}0,listen_port=${port},ip=10.${subnet}.0.1/24`, ""].join("\n");
    const file = write("two-fabrics.cfg", `${fabric("east", 51820, 1)}\n${fabric("west", 51821, 2)}`);
    const result = run(["render", file, "--node", "a"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^wg-fabric: node "a" is in fabrics east, west; choose one with --fabric$/m);
    assert.equal(run(["render", file, "--node", "a", "--fabric", "west"]).status, 0);
  });

  it("validate --json prints its document for a FILE that cannot be read, naming it and why", () => {
    const missing = path.join(dir, "missing.cfg");
    for (const [file, why] of [[missing, "no such file"], [dir, "is a folder"]] as const) {
      const result = run(["validate", "--json", file]);
      assert.equal(result.status, 1);
      const document = validateJsonSchema.parse(JSON.parse(result.stdout));
      assert.deepEqual(document.files[0]?.problems, [{ file, severity: "error", message: `cannot be read: ${why}` }]);
      assert.equal(run(["validate", file]).stderr.trim(), `${file}: error: cannot be read: ${why}`);
    }
  });

  it("render --all prints its warnings as validate does and writes the files; with --strict it writes nothing and exits 1", () => {
    const out = path.join(dir, "all");
    const r = run(["render", RFC, "--all", "--out", out]);
    assert.equal(r.status, 0);
    assert.match(r.stderr, /rfc-fabrics\.cfg:12: warning: vpn: occultist: peers\[0\]: /);
    assert.ok(existsSync(path.join(out, "occultist/wg0.conf")));
    const strictOut = path.join(dir, "strict");
    const strict = run(["render", RFC, "--all", "--out", strictOut, "--strict"]);
    assert.equal(strict.status, 1);
    assert.ok(!existsSync(strictOut), "nothing written");
  });

  it("completion bash: made from the help's tables, shellcheck-clean, completes commands, options and their values", () => {
    const script = write("completion.bash", run(["completion", "bash"]).stdout);
    execFileSync("shellcheck", ["--shell=bash", "--severity=warning", script]);
    const complete = (...words: string[]): string[] =>
      execFileSync("bash", ["-c", `source "${script}"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _wg_fabric; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean);
    assert.deepEqual(complete("wg-fabric", "va"), ["validate"]);
    assert.deepEqual(complete("wg-fabric", "fmt", "--c"), ["--check"]);
    assert.deepEqual(complete("wg-fabric", "render", RFC, "--format", "proxmox"), ["proxmox", "proxmox-stanza"]);
    assert.deepEqual(complete("wg-fabric", "graph", "--format", ""), ["dot", "svg", "png", "mermaid"]);
    assert.deepEqual(complete("wg-fabric", "validate", "--dialect", ""), ["proxmox", "rfc"]);
    assert.deepEqual(complete("wg-fabric", "help", "st"), ["status"]);
  });
});
