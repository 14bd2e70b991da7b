import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileBlocks } from "../../provider/cli/file-blocks";
import { prng, seedFrom } from "./helpers";
import { FIXTURES } from "./rfc.test";

const CLI = path.join(__dirname, "../../cli/wg-fabric.js");
const RFC = path.join(FIXTURES, "rfc-fabrics.cfg");

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("wg-fabric CLI", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), "wgf-cli-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a file in blocks of whole lines that make its text, whatever the chunk size and characters (seeded)", () => {
    const seed = seedFrom("WGF_BLOCKS_SEED");
    const random = prng(seed);
    const file = path.join(dir, "blocks.txt");
    const pieces = ["a", "peers", " ", "\n", "\n\n", "é", "中", "🔑", "x".repeat(40)];
    for (let round = 0; round < 200; round++) {
      const text = Array.from({ length: Math.floor(random() * 60) }, () => pieces[Math.floor(random() * pieces.length)]).join("");
      writeFileSync(file, text);
      const chunk = 1 + Math.floor(random() * 16);
      const blocks = [...fileBlocks(file, chunk)];
      assert.equal(blocks.join("\n"), text, `seed ${seed} (replay with WGF_BLOCKS_SEED=${seed}), round ${round}, chunk ${chunk}`);
    }
  });

  it("validate: exit 0 and a summary line, warnings on stderr", () => {
    const r = run("validate", RFC);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `${RFC}: ok (proxmox dialect): 1 fabric(s), 3 node(s), 2 interface(s), 1 warning(s)\n`);
    assert.match(r.stderr, /:12: warning: vpn: occultist: peers\[0\]: elementalist\/wg0 has no peer back/);
  });

  it("validate: exit 1 with one problem per line", () => {
    const bad = path.join(dir, "bad.cfg");
    writeFileSync(bad, readFileSync(RFC, "utf8").replace("node=berserker", "node=berserkr").replace("listen_port=50000,public_key=y0k", "listen_port=0,public_key=y0k"));
    const r = run("validate", bad);
    assert.equal(r.status, 1);
    assert.deepEqual(r.stderr.trim().split("\n"), [`${bad}:11: error: vpn: occultist: wg0: listen_port: port 0 is outside 1-65535`]);
    writeFileSync(bad, readFileSync(RFC, "utf8").replace("node=berserker", "node=berserkr"));
    assert.deepEqual(run("validate", bad).stderr.trim().split("\n").filter((l) => !l.includes("warning")), [
      `${bad}:13: error: vpn: occultist: peers[1]: node: node "berserkr" is not defined in fabric "vpn"; did you mean "berserker"?`,
    ]);
  });

  it("render: the RFC's wg0.conf with the key from --private-key-file; a file without a private key is refused, its text never quoted", () => {
    const keyFile = path.join(dir, "wg0.key");
    const privateKey = "qGXl+84iE1teMyQeL1DgkuLivKKYasx6fOYqBfr3QEI=";
    writeFileSync(keyFile, `${privateKey}\n`, { mode: 0o600 });
    // the RFC's file records another public key for occultist/wg0 than this private key's (wg pubkey's answer)
    const recorded = "y0kOpXfo9ff4KoUwO3H1cRuwObbKwsK8mAkwXxNvKUc=";
    const own = execFileSync("wg", ["pubkey"], { input: privateKey, encoding: "utf8" }).trim();
    const mismatch = run("render", RFC, "--node", "occultist", "--iface", "wg0", "--private-key-file", keyFile);
    assert.deepEqual([mismatch.status, mismatch.stdout, mismatch.stderr.trim().split("\n").pop()], [1, "", `--private-key-file ${keyFile}: holds the private key of ${own}, but the file records ${recorded} as occultist/wg0's public key`]);
    const RFC_KEYED = path.join(dir, "rfc-keyed.cfg");
    writeFileSync(RFC_KEYED, readFileSync(RFC, "utf8").replace(recorded, own));
    const r = run("render", RFC_KEYED, "--node", "occultist", "--iface", "wg0", "--private-key-file", keyFile);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(path.join(FIXTURES, "rfc-occultist-wg0.conf"), "utf8").replace("<some_private_key>", privateKey));
    writeFileSync(keyFile, "hello\n", { mode: 0o600 });
    const hello = run("render", RFC, "--node", "occultist", "--iface", "wg0", "--private-key-file", keyFile);
    // after the fabric's own warning (a one-sided peering), as validate prints it
    assert.deepEqual([hello.status, hello.stdout, hello.stderr.trim().split("\n").pop()], [1, "", `--private-key-file ${keyFile}: does not hold a WireGuard private key (32 bytes of base64, as \`wg genkey\` prints it)`]);
    const publicKey = /interfaces name=wg0,listen_port=50000,public_key=(\S+?),/.exec(readFileSync(RFC, "utf8").split("vpn_occultist")[1] as string)?.[1] as string;
    writeFileSync(keyFile, `${publicKey}\n`, { mode: 0o600 });
    const swapped = run("render", RFC, "--node", "occultist", "--iface", "wg0", "--private-key-file", keyFile);
    assert.deepEqual([swapped.status, swapped.stderr.trim().split("\n").pop()], [1, `--private-key-file ${keyFile}: holds the public key of occultist/wg0, not its private key`]);
  });

  it("render --private-key-file of a node with two interfaces: the key goes into its own interface only; a key of neither asks for --iface", () => {
    const [key0, key1, stranger] = [0, 1, 2].map(() => execFileSync("wg", ["genkey"], { encoding: "utf8" }).trim()) as [string, string, string];
    const pub = (key: string) => execFileSync("wg", ["pubkey"], { input: key, encoding: "utf8" }).trim();
    const file = path.join(dir, "two.cfg");
    writeFileSync(
      file,
      [
        "wireguard_fabric: two",
        "",
        "wireguard_node: two_a",
        "\tendpoint 192.0.2.1",
        `\tinterfaces name=wg0,listen_port=51820,public_key=${pub(key0)},ip=10.1.0.1/24`,
        `\tinterfaces name=wg1,listen_port=51821,public_key=${pub(key1)},ip=10.2.0.1/24`,
        "\tpeers type=internal,node=b,node_iface=wg0,iface=wg0",
        "\tpeers type=internal,node=b,node_iface=wg1,iface=wg1",
        "\trole internal",
        "",
        "wireguard_node: two_b",
        "\tendpoint 192.0.2.2",
        `\tinterfaces name=wg0,listen_port=51820,public_key=${pub(stranger)},ip=10.1.0.2/24`,
        `\tinterfaces name=wg1,listen_port=51821,public_key=${pub(execFileSync("wg", ["genkey"], { encoding: "utf8" }).trim())},ip=10.2.0.2/24`,
        "\tpeers type=internal,node=a,node_iface=wg0,iface=wg0",
        "\tpeers type=internal,node=a,node_iface=wg1,iface=wg1",
        "\trole internal",
        "",
      ].join("\n"),
    );
    const keyFile = path.join(dir, "wg1.key");
    writeFileSync(keyFile, `${key1}\n`, { mode: 0o600 });
    const both = run("render", file, "--node", "a", "--private-key-file", keyFile);
    assert.equal(both.status, 0, both.stderr);
    const [wg0, wg1] = both.stdout.split(/^# wg1$/m) as [string, string];
    assert.doesNotMatch(wg0, /PrivateKey/, "wg0 is not given wg1's key");
    assert.equal(wg1.match(/^PrivateKey = (.*)$/m)?.[1], key1);
    writeFileSync(keyFile, `${stranger}\n`, { mode: 0o600 });
    const neither = run("render", file, "--node", "a", "--private-key-file", keyFile);
    assert.deepEqual([neither.status, neither.stdout], [1, ""]);
    assert.match(neither.stderr, /is the private key of none of a\/wg0, a\/wg1 \(its public key is .*\): name the interface it is for with --iface/);
    assert.ok(!neither.stderr.includes(stranger), "the key is never quoted");
  });

  it("validate names what a new user gets wrong: a byte-order mark, a misspelt section type, an empty file, a long name in Proxmox VE's dialect, one public key twice", () => {
    const file = path.join(dir, "mistakes.cfg");
    const rfc = readFileSync(RFC, "utf8");
    const check = (text: string, args: string[] = []): [number | null, string[]] => {
      writeFileSync(file, text);
      const r = run("validate", file, ...args);
      return [r.status, r.stderr.trim().split("\n").filter((line) => !line.includes("warning"))];
    };
    assert.deepEqual(check(`\uFEFF${rfc}`), [1, [`${file}:1: error: the file starts with a UTF-8 byte-order mark (U+FEFF), which Proxmox VE's parser does not skip; save the file without it`]]);
    assert.deepEqual(check(rfc.replace("wireguard_node: vpn_berserker", "wirguard_node: vpn_berserker"))[1]?.[0], `${file}:16: error: unknown section type "wirguard_node"; did you mean "wireguard_node"?`);
    assert.deepEqual(check(""), [1, [`${file}: error: no WireGuard fabric in it (no "wireguard_fabric:" section)`]]);
    const long = rfc.replace(/wg0/g, "wgfabric0");
    assert.deepEqual(check(long)[1]?.[0], `${file}:6: error: interface name "wgfabric0": Proxmox VE's fabrics take 1-8 letters, digits and inner dashes (Linux allows 15: read the file with --dialect rfc, or rename it)`);
    assert.equal(check(long, ["--dialect", "rfc"])[0], 0);
    const occultistKey = /vpn_occultist[\s\S]*?public_key=(\S+?),/.exec(rfc)?.[1] as string;
    assert.deepEqual(check(rfc.replace(/(wireguard_node: vpn_berserker[\s\S]*?public_key )\S+/, `$1${occultistKey}`)), [
      1,
      [`${file}:19: error: vpn: berserker: public_key: ${occultistKey} is also the public key of interface occultist/wg0; each interface and external node has its own`],
    ]);
  });

  it("render: every interface after a '# IFACE' line, in each format", () => {
    assert.match(run("render", RFC, "--node", "occultist").stdout, /^# wg0\n\[Interface\]\nListenPort = 50000\n/);
    assert.match(run("render", RFC, "--node", "occultist", "--format", "wg-quick").stdout, /Address = 198\.51\.100\.2\/24/);
    assert.match(run("render", RFC, "--node", "occultist", "--format", "ifupdown2").stdout, /^# wg0\nauto wg0\n/);
  });

  it("fmt prints the canonical config in Proxmox VE's dialect, or the RFC's with --rfc", () => {
    const r = run("fmt", RFC);
    assert.equal(r.status, 0);
    // an internal endpoint as a host, which every Proxmox VE release reads (its peers dial the listen port)
    assert.match(r.stdout, /^wireguard_fabric: vpn\n\nwireguard_node: vpn_elementalist\n\tendpoint 192\.0\.2\.1\n/);
    const rfc = run("fmt", RFC, "--rfc");
    assert.match(rfc.stdout, /^wireguard_fabric: vpn\n\tkey_dir \/etc\/wireguard\/wg-fabric\n\tapply_mode wg-quick\n\nwireguard_node: vpn_elementalist\n\tendpoint 192\.0\.2\.1\n/);
  });

  it("fmt into Proxmox VE's dialect: what it cannot hold changes the file's meaning, so each is named by line and nothing is written unless --force; exit 1 when it cannot hold a fabric", () => {
    const ours = path.join(dir, "ours.cfg");
    writeFileSync(ours, readFileSync(RFC, "utf8").replace("ip=198.51.100.2/24", "ip=198.51.100.2/24,mtu=1380").replace("iface=wg0\n", "iface=wg0,persistent_keepalive=9\n"));
    const lost = [
      `${ours}:11: error: vpn: occultist: wg0: mtu: left out: Proxmox VE has no such key, or gives it another meaning (write the RFC dialect to keep it)`,
      `${ours}:12: error: vpn: occultist: peers[0]: persistent_keepalive: left out: Proxmox VE has no such key, or gives it another meaning (write the RFC dialect to keep it)`,
    ];
    const refused = run("fmt", ours);
    assert.deepEqual([refused.status, refused.stdout], [1, ""]);
    assert.deepEqual(refused.stderr.trim().split("\n"), [...lost, `${ours}: nothing written: Proxmox VE would not read the file as it means (each key above; --rfc keeps every key; --force writes it anyway)`]);
    const r = run("fmt", ours, "--force");
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /mtu|persistent_keepalive|key_dir|apply_mode/);
    assert.deepEqual(r.stderr.trim().split("\n"), lost.map((line) => line.replace(": error: ", ": warning: ")));
    const long = path.join(dir, "long.cfg");
    writeFileSync(long, readFileSync(RFC, "utf8").replaceAll("wg0", "wgfabric0"));
    // read as Proxmox VE's (no key of ours in it), the long name is refused at once; read as the RFC's, the writer refuses it
    assert.match(run("fmt", long).stderr, /long\.cfg:6: error: interface name "wgfabric0": Proxmox VE's fabrics take 1-8/);
    const failed = run("fmt", long, "--dialect", "rfc");
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /vpn: elementalist: wgfabric0: Proxmox VE allows interface names of 1-8 letters/);
    assert.equal(run("fmt", long, "--dialect", "rfc", "--rfc").status, 0);
  });

  it("validate warns, by line, of what Proxmox VE would not read as the file means; fmt moves a peer's allowed_ips where that keeps the meaning and refuses an internal endpoint's other port", () => {
    const shipped = path.join(FIXTURES, "proxmox-fabrics.cfg");
    const moved = "Proxmox VE cannot read a peer's allowed_ips (proxmox-ve-config 0.10.1 refuses the whole file: \"expected a sequence\"); `wg-fabric fmt` moves these networks to";
    const r = run("validate", shipped);
    assert.equal(r.status, 0);
    assert.deepEqual(r.stderr.trim().split("\n"), [
      `${shipped}:11: warning: pve: pve1: peers[1]: allowed_ips: ${moved} pdm's allowed_ips, where they mean the same`,
      `${shipped}:17: warning: pve: pve2: peers[0]: allowed_ips: ${moved} pve1's allowed_ips, where they mean the same`,
    ]);
    const formatted = run("fmt", shipped);
    assert.equal(formatted.status, 0, formatted.stderr);
    assert.doesNotMatch(formatted.stdout, /peers [^\n]*allowed_ips/);
    const canonical = path.join(dir, "canonical.cfg");
    writeFileSync(canonical, formatted.stdout);
    assert.equal(run("validate", canonical).stderr, "", "nothing left to warn about");

    const nat = path.join(dir, "nat.cfg");
    writeFileSync(nat, readFileSync(shipped, "utf8").replace("endpoint 192.0.2.2\n", "endpoint 192.0.2.2:40000\n"));
    const refused = run("fmt", nat);
    assert.deepEqual([refused.status, refused.stdout], [1, ""]);
    assert.match(refused.stderr, new RegExp(`^${nat.replace(/[.]/g, "\\.")}:15: error: pve: pve2: endpoint: 192\\.0\\.2\\.2:40000: Proxmox VE 0\\.10\\.1 \\(proxmox-ve-config\\) reads an internal node's endpoint as a host`, "m"));
    assert.match(run("fmt", nat, "--force").stdout, /\tendpoint 192\.0\.2\.2:40000\n/);
  });

  it("keys prints the README's table of fabrics.cfg keys", () => {
    const r = run("keys");
    assert.equal(r.status, 0);
    const readme = readFileSync(path.join(__dirname, "../../../README.md"), "utf8");
    assert.ok(readme.includes(r.stdout.trim()), "the README's key table is the one `wg-fabric keys` prints");
    assert.match(r.stdout, /\| `peers` entry \| `skip_route_generation` \| `skipRouteGeneration` \|/);
  });

  it("exit 2 on usage errors; --help on every command", () => {
    assert.equal(run().status, 2);
    assert.equal(run("frobnicate").status, 2);
    assert.equal(run("render", RFC).status, 2);
    assert.equal(run("render", RFC, "--node", "occultist", "--format", "yaml").status, 2);
    assert.equal(run("validate", RFC, "--bogus").status, 2);
    assert.equal(run("render", RFC, "--node", "berserker").status, 2);
    assert.equal(run("validate", RFC, "--dialect", "debian").status, 2);
    assert.equal(run("render", RFC, "--all").status, 2, "--all needs --out");
    assert.equal(run("render", RFC, "--node", "occultist", "--out", dir).status, 2, "--out goes with --all");
    assert.equal(run("status", RFC).status, 2, "status reads a stack, not a file");
    assert.equal(run("status", "--max-age", "soon").status, 2);
    assert.equal(run("graph", RFC, "--stack", "dev").status, 2, "a file or a stack, not both");
    assert.equal(run("graph", RFC, "--format", "gif").status, 2);
    assert.equal(run("keys", "--json").status, 2, "options belong to their commands");
    for (const command of ["validate", "render", "fmt", "keys", "status", "graph"]) {
      const r = run(command, "--help");
      assert.equal(r.status, 0);
      assert.match(r.stdout, new RegExp(`^usage: wg-fabric ${command}`));
    }
    assert.match(run("--help").stdout, /^usage: wg-fabric <command>/);
  });

  it("render --all writes every node's interfaces, each as render --node prints it, mode 0600", () => {
    const out = path.join(dir, "all");
    const r = run("render", RFC, "--all", "--out", out, "--format", "wg-quick");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${out}: 2 file(s) of 2 node(s) written\n`);
    for (const node of ["elementalist", "occultist"]) {
      const file = path.join(out, node, "wg0.conf");
      assert.equal(readFileSync(file, "utf8"), `${run("render", RFC, "--node", node, "--iface", "wg0", "--format", "wg-quick").stdout}`);
      assert.equal(statSync(file).mode & 0o777, 0o600);
    }
    const stanzas = run("render", RFC, "--all", "--out", out, "--format", "proxmox-stanza");
    assert.equal(stanzas.status, 0, stanzas.stderr);
    assert.match(readFileSync(path.join(out, "occultist", "wg0"), "utf8"), /^auto wg0\niface wg0/);
    const bad = path.join(dir, "bad-all.cfg");
    writeFileSync(bad, readFileSync(RFC, "utf8").replace("node=berserker", "node=berserkr"));
    const refused = run("render", bad, "--all", "--out", path.join(dir, "none"));
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /occultist: peers\[1\]: node: node "berserkr" is not defined/);
    assert.equal(existsSync(path.join(dir, "none")), false, "nothing is written for a fabric with errors");
  });

  it("render --all again after a node left the file: that node's folder goes, nothing else in DIR is touched", () => {
    const out = path.join(dir, "stale");
    assert.equal(run("render", RFC, "--all", "--out", out).status, 0);
    writeFileSync(path.join(out, "README"), "the operator's own file\n");
    mkdirSync(path.join(out, "keep"));
    // occultist leaves: elementalist's peer to it goes too
    const text = readFileSync(RFC, "utf8");
    const without = path.join(dir, "without-occultist.cfg");
    writeFileSync(without, text.replace(/wireguard_node: vpn_occultist[\s\S]*?\n\n/, "").replace(/\n\s+peers type=internal,node=occultist[^\n]*/, ""));
    const again = run("render", without, "--all", "--out", out);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, `${out}: 1 file(s) of 1 node(s) written, 1 of an earlier run removed\n`);
    assert.deepEqual(readdirSync(out).sort(), [".wg-fabric-rendered", "README", "elementalist", "keep"]);
    assert.ok(existsSync(path.join(out, "elementalist", "wg0.conf")));
  });

  it("stops quietly with exit 0 when the reader of its output goes away (| head)", () => {
    const big = path.join(dir, "mesh150.cfg");
    const names = Array.from({ length: 150 }, (_, i) => `n${i}`);
    const sections = names.map((name, i) =>
      [`wireguard_node: mesh_${name}`, "\trole internal", `\tinterfaces name=wg0,listen_port=51820,ip=10.0.${i}.1/16`, ...names.filter((o) => o !== name).map((o) => `\tpeers type=internal,node=${o},node_iface=wg0,iface=wg0`)].join("\n"),
    );
    writeFileSync(big, ["wireguard_fabric: mesh", ...sections].join("\n\n"));
    const piped = spawnSync("bash", ["-c", `set -o pipefail; "${process.execPath}" "${CLI}" fmt "${big}" | head -1`], { encoding: "utf8" });
    assert.equal(piped.stdout, "wireguard_fabric: mesh\n");
    assert.equal(piped.stderr, "");
    assert.equal(piped.status, 0);
  });

  it("the bin runs the bundle from its code cache, and makes the cache anew when it is missing or V8 refuses it", () => {
    const copy = path.join(dir, "cli");
    mkdirSync(copy);
    for (const name of ["wg-fabric.js", "wg-fabric-main.js"]) copyFileSync(path.join(path.dirname(CLI), name), path.join(copy, name));
    const cache = path.join(copy, "wg-fabric-main.js.cache");
    const help = () => spawnSync(process.execPath, [path.join(copy, "wg-fabric.js"), "--help"], { encoding: "utf8" });
    assert.equal(existsSync(cache), false);
    assert.equal(help().status, 0);
    assert.ok(statSync(cache).size > 10_000, "a cache is made by the first run");
    writeFileSync(cache, "not a code cache");
    const refused = help();
    assert.equal(refused.status, 0, refused.stderr);
    assert.match(refused.stdout, /^usage: wg-fabric/);
    const remade = readFileSync(cache);
    assert.ok(remade.length > 10_000, "a refused cache is made again");
    assert.equal(help().status, 0);
    assert.deepEqual(readFileSync(cache), remade, "an accepted cache is kept as it is");
  });

  it("the CLI is one file that loads no other module; pulumi-wireguard-fabric/fabric loads no Pulumi module (tools start fast)", () => {
    const preload = path.join(dir, "modules.js");
    writeFileSync(preload, 'process.on("exit", () => process.stderr.write(Object.keys(require.cache).join("\\n")));');
    const cli = spawnSync(process.execPath, ["--require", preload, CLI, "--help"], { encoding: "utf8" });
    assert.equal(cli.status, 0, cli.stderr);
    assert.deepEqual(cli.stderr.split("\n").slice(-2).sort(), [CLI, preload].sort(), "only the bundle itself is loaded");
    const loaded = spawnSync(process.execPath, ["-e", 'require("pulumi-wireguard-fabric/fabric"); console.log(Object.keys(require.cache).join("\\n"))'], { encoding: "utf8", cwd: path.join(__dirname, "../../..") });
    assert.equal(loaded.status, 0, loaded.stderr);
    const modules = loaded.stdout.split("\n").filter(Boolean);
    assert.ok(modules.some((m) => m.includes("/dist/provider/fabric/")), "the subpath loads the fabric layer");
    assert.deepEqual(modules.filter((m) => m.includes("@pulumi") || m.includes("@grpc")), [], "the subpath loads no Pulumi module");
    const api = require("pulumi-wireguard-fabric/fabric") as Record<string, unknown>;
    for (const name of ["parseSectionConfig", "validateFabric", "resolveInterfaces", "renderWgQuick", "renderDot", "renderMermaid", "topologyOfFabric", "parseFabricOrThrow", "fullMeshInput"]) {
      assert.equal(typeof api[name], "function", name);
    }
  });
});
