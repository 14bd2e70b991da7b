import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as net from "node:net";
import * as path from "node:path";
import { renderWgQuick, resolveInterfaces } from "../../provider/fabric";
import { connectionSchema, parseFabricOrThrow, type Connection, type Fabric } from "../../provider/model";
import { configDigest, driftOf, managedMarker, nodeScript, RemoteError, RemoteNode, scriptArgs, scriptCommand, SessionPool, SshSession } from "../../provider/remote";
import { setChannelTap } from "./channel-tap";
import { converge } from "../../lab/converge";
import { Lab } from "../../lab/lab";
import { KEYS } from "../unit/helpers";

const NODES = ["elementalist", "occultist", "mage"];
const ALL_HOSTS = [...NODES, "bare"];

/** The RFC topology on lab addresses, peered both ways; `withMage` adds a third node to the mesh. */
function labSpec(lab: Lab, options: { withMage?: boolean; occultistIp?: string } = {}): Fabric {
  const internal = (name: string, ip: string, peers: string[]) => ({
    role: "internal" as const,
    endpoint: lab.host(name).ip,
    interfaces: { wg0: { listenPort: 50000, ip } },
    peers: peers.map((node) => ({ type: "internal" as const, node, nodeIface: "wg0", iface: "wg0" })),
  });
  const occultistIp = options.occultistIp ?? "198.51.100.2/24";
  return parseFabricOrThrow({
    name: "vpn",
    nodes: {
      elementalist: { ...internal("elementalist", "198.51.100.1/24", ["occultist", ...(options.withMage ? ["mage"] : [])]), allowedIps: ["203.0.113.128/25"] },
      occultist: {
        ...internal("occultist", occultistIp, ["elementalist", ...(options.withMage ? ["mage"] : [])]),
        peers: [
          { type: "internal", node: "elementalist", nodeIface: "wg0", iface: "wg0" },
          { type: "external", node: "berserker", iface: "wg0" },
          ...(options.withMage ? [{ type: "internal" as const, node: "mage", nodeIface: "wg0", iface: "wg0" }] : []),
        ],
      },
      ...(options.withMage ? { mage: internal("mage", "198.51.100.3/24", ["elementalist", "occultist"]) } : {}),
      berserker: { role: "external", endpoint: "198.18.0.99:51337", allowedIps: ["203.0.113.0/25"], publicKey: KEYS.berserker },
    },
  });
}

function connections(lab: Lab): Record<string, Connection> {
  return Object.fromEntries(lab.hosts.map((host) => [host.name, connectionSchema.parse({ ...host.connection, dialErrorLimit: 2, perDialTimeout: 3 })]));
}

/** Files under `dir` (recursively) that contain `needle`. */
function filesContaining(dir: string, needle: string, skip: (file: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (current: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(current);
    } catch {
      return;
    }
    for (const entry of entries) {
      const file = path.join(current, entry);
      if (skip(file)) continue;
      let stat;
      try {
        stat = statSync(file);
      } catch {
        continue;
      }
      if (stat.isDirectory()) walk(file);
      else if (stat.isFile() && stat.size < 50_000_000 && readFileSync(file).includes(needle)) found.push(file);
    }
  };
  walk(dir);
  return found;
}

describe("remote operations on the lab", function () {
  this.timeout(120_000);
  let lab: Lab;
  let pool: SessionPool;
  const wire: Buffer[] = [];

  before(async () => {
    lab = await Lab.start(ALL_HOSTS, { name: "wgfr", subnet: 0, withoutWireguardTools: ["bare"] });
    pool = new SessionPool(60_000);
    setChannelTap((_direction, data) => wire.push(Buffer.from(data)));
  });

  after(async () => {
    setChannelTap(undefined);
    await pool?.closeAll();
    lab?.stop();
  });

  const privateKeyOf = (node: string): string => lab.readNodeFile(node, "/etc/wireguard/wg-fabric/wg0.key").trim();
  const publicKeyOf = (privateKey: string): string => execFileSync("wg", ["pubkey"], { input: privateKey, encoding: "utf8" }).trim();

  it("converges the RFC topology: keys made on the nodes, configs applied, a ping crosses the tunnel", async () => {
    const result = await converge(labSpec(lab), connections(lab), pool);
    assert.deepEqual(result.changed, ["elementalist/wg0", "occultist/wg0"]);
    for (const node of ["elementalist", "occultist"]) {
      assert.equal(result.publicKeys.get(`${node}/wg0`), publicKeyOf(privateKeyOf(node)));
      const mode = statSync(path.join(lab.host(node).dir, "wireguard/wg-fabric/wg0.key")).mode & 0o777;
      assert.equal(mode, 0o600, "the private key is readable by root only");
    }
    assert.ok(lab.ping("occultist", "198.51.100.1", 5) >= 4, "pings cross the WireGuard tunnel");
    assert.equal(pool.stats.connections, 2, "one connection per node");
    assert.equal(pool.stats.commands, 6, "three commands per new interface: key, inspect, apply");
  });

  it("a second run changes nothing: same keys, no file rewritten", async () => {
    const files = ["wireguard/wg-fabric/wg0.key", "wireguard/wg-fabric/wg0.pub", "wireguard/wg0.conf"];
    const before = Object.fromEntries(
      ["elementalist", "occultist"].flatMap((node) => files.map((f) => [`${node}/${f}`, statSync(path.join(lab.host(node).dir, f)).mtimeMs])),
    );
    const keys = { elementalist: privateKeyOf("elementalist"), occultist: privateKeyOf("occultist") };
    const result = await converge(labSpec(lab), connections(lab), pool);
    assert.deepEqual(result.changed, []);
    const after = Object.fromEntries(Object.keys(before).map((key) => [key, statSync(path.join(lab.host(key.split("/")[0]!).dir, key.slice(key.indexOf("/") + 1))).mtimeMs]));
    assert.deepEqual(after, before);
    assert.deepEqual({ elementalist: privateKeyOf("elementalist"), occultist: privateKeyOf("occultist") }, keys);
  });

  it("boot: wg-quick@wg0 is enabled (real systemctl); what boot loads equals the live state; a lost link comes back with its key", async () => {
    const fabric = labSpec(lab);
    const view = resolveInterfaces(fabric).find((v) => v.id === "occultist/wg0")!;
    const rendered = renderWgQuick(view, { publicKeys: (await converge(fabric, connections(lab), pool)).publicKeys });
    const planned = () =>
      pool.use("occultist", connections(lab).occultist!, async (s) => (await new RemoteNode(s).survey(view, "wg-quick", rendered, "")).plan.ops);
    assert.equal(lab.nodeExec("occultist", "systemctl", ["is-enabled", "wg-quick@wg0"]).trim(), "enabled");
    const key = privateKeyOf("occultist");
    // what the boot unit runs (ExecStart=wg-quick up %i), on the file we wrote: nothing left to do
    lab.nodeExec("occultist", "ip", ["link", "delete", "dev", "wg0"]);
    lab.nodeExec("occultist", "sh", ["-c", "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wg-quick up wg0 2>/dev/null"]);
    assert.deepEqual(await planned(), [], "the interface wg-quick brought up from our file is the declared one");
    assert.ok(lab.ping("occultist", "198.51.100.1", 3) >= 2, "and it carries traffic");
    // a reboot without the unit (or a deleted link): the next converge restores it, same key
    lab.nodeExec("occultist", "ip", ["link", "delete", "dev", "wg0"]);
    assert.deepEqual((await converge(fabric, connections(lab), pool)).changed, ["occultist/wg0"]);
    assert.equal(privateKeyOf("occultist"), key, "the same key");
    assert.deepEqual(await planned(), []);
    assert.ok(lab.ping("occultist", "198.51.100.1", 5) >= 3, "the tunnel is back");
  });

  it("adds a peer to running interfaces while a ping through an existing tunnel loses nothing", async () => {
    const pinger = spawn("ip", ["netns", "exec", lab.host("occultist").netns, "ping", "-n", "-q", "-c", "40", "-i", "0.1", "-W", "1", "198.51.100.1"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    pinger.stdout.on("data", (data: Buffer) => (output += data.toString()));
    const done = new Promise<void>((resolve) => pinger.on("close", () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 800));
    const result = await converge(labSpec(lab, { withMage: true }), connections(lab), pool);
    assert.deepEqual(result.changed, ["elementalist/wg0", "mage/wg0", "occultist/wg0"]);
    await done;
    assert.match(output, /40 packets transmitted, 40 received, 0% packet loss/);
    assert.ok(lab.ping("mage", "198.51.100.1") >= 2, "the new node reaches elementalist");
    assert.ok(lab.ping("mage", "198.51.100.2") >= 2, "the new node reaches occultist");
  });

  it("changes an interface address without a restart", async () => {
    const wgPids = lab.processes("occultist", "wireguard-go wg0");
    assert.equal(wgPids.length, 1);
    await converge(labSpec(lab, { withMage: true, occultistIp: "198.51.100.12/24" }), connections(lab), pool);
    assert.ok(lab.ping("elementalist", "198.51.100.12") >= 2, "the new address answers through the tunnel");
    assert.equal(lab.ping("elementalist", "198.51.100.2", 1), 0, "the old address is gone");
    assert.deepEqual(lab.processes("occultist", "wireguard-go wg0"), wgPids, "the same wireguard-go process");
  });

  it("a config that does not parse is refused before anything is sent; a plan that fails stops at its step, peers and file untouched", async () => {
    const fabric = labSpec(lab, { withMage: true, occultistIp: "198.51.100.12/24" });
    const view = resolveInterfaces(fabric).find((v) => v.id === "elementalist/wg0")!;
    const onElementalist = <T>(work: (node: RemoteNode, session: SshSession) => Promise<T>) => pool.use("elementalist", connections(lab).elementalist!, (s) => work(new RemoteNode(s), s));
    const peers = async () => (await onElementalist((node) => node.inspect(view, "wg-quick"))).live.peers.map((p) => `${p.publicKey} ${p.allowedIps.join(",")}`).sort();
    const before = await peers();
    const file = lab.readNodeFile("elementalist", "/etc/wireguard/wg0.conf");
    assert.equal(before.length, 2);
    const sent = wire.length;
    const broken = "[Interface]\nListenPort = 50000\nAddress = 198.51.100.1/24\n\n[Peer]\nPublicKey = not-a-key\nAllowedIPs = 10.0.0.0/8\n";
    await assert.rejects(
      onElementalist((node) => node.sync(view, "wg-quick", broken)),
      (error: unknown) => error instanceof RemoteError && error.kind === "invalid-argument" && /line 6: PublicKey is not a WireGuard key; nothing was sent/.test(error.message),
    );
    assert.equal(wire.length, sent, "nothing was sent");

    // a listen port another interface holds: the first step fails, the rest never runs
    await onElementalist((_, s) => s.exec("wireguard-go wg8 && wg set wg8 listen-port 50099"));
    const current = file.split("\n").slice(1).filter((line) => !line.startsWith("PrivateKey")).join("\n");
    const clash = `${current.replace("ListenPort = 50000", "ListenPort = 50099")}\n[Peer]\nPublicKey = ${KEYS.berserker}\nAllowedIPs = 10.99.0.0/16\n`;
    await assert.rejects(
      onElementalist((node) => node.sync(view, "wg-quick", clash)),
      (error: unknown) => error instanceof RemoteError && error.kind === "command" && /applying wg0 failed \(exit 4\): step failed: wg set wg0 listen-port 50099 \(.*Address already in use/.test(error.message),
    );
    await onElementalist((_, s) => s.exec("ip link delete dev wg8"));
    assert.deepEqual(await peers(), before, "no peer was added or removed");
    assert.equal((await onElementalist((node) => node.inspect(view, "wg-quick"))).live.listenPort, 50000, "still listening on its port");
    assert.equal(lab.readNodeFile("elementalist", "/etc/wireguard/wg0.conf"), file, "the file on disk is still the good one");
    assert.ok(lab.ping("elementalist", "198.51.100.12") >= 2);
  });

  it("refuses a config that would route the SSH session's own address into the tunnel", async () => {
    const view = resolveInterfaces(labSpec(lab, { withMage: true, occultistIp: "198.51.100.12/24" })).find((v) => v.id === "elementalist/wg0")!;
    const file = lab.readNodeFile("elementalist", "/etc/wireguard/wg0.conf");
    const cutOff = `[Interface]\nListenPort = 50000\nAddress = 198.51.100.1/24\n\n[Peer]\nPublicKey = ${KEYS.berserker}\nAllowedIPs = 198.18.0.0/16\n`;
    await assert.rejects(
      pool.use("elementalist", connections(lab).elementalist!, (s) => new RemoteNode(s).sync(view, "wg-quick", cutOff)),
      /wg0: 198\.18\.0\.0\/16 would route 198\.18\.0\.254, where this SSH session comes from, into the tunnel and cut the node off; nothing was changed/,
    );
    assert.equal(lab.readNodeFile("elementalist", "/etc/wireguard/wg0.conf"), file);
  });

  it("a peer removed by hand on the running interface shows up as drift, from the same plan up would run", async () => {
    const fabric = labSpec(lab, { withMage: true, occultistIp: "198.51.100.12/24" });
    const { publicKeys } = await converge(fabric, connections(lab), pool);
    const view = resolveInterfaces(fabric).find((v) => v.id === "occultist/wg0")!;
    const rendered = renderWgQuick(view, { publicKeys });
    const expected = { digest: configDigest(rendered, view.owner), publicKey: publicKeys.get("occultist/wg0"), pairKeyFiles: [] };
    const drift = () =>
      pool.use("occultist", connections(lab).occultist!, async (s) => {
        const { inspection, plan } = await new RemoteNode(s).survey(view, "wg-quick", rendered, "");
        return driftOf(inspection, expected, plan);
      });
    assert.deepEqual(await drift(), []);
    await pool.use("occultist", connections(lab).occultist!, (s) => s.exec(`wg set wg0 peer ${publicKeys.get("mage/wg0")} remove`));
    assert.deepEqual(await drift(), [`peer ${publicKeys.get("mage/wg0")} needs endpoint 198.18.0.3:50000, AllowedIPs 198.51.100.3/32`]);
  });

  it("ifupdown2 mode: stanza and setconf file, ifup of that interface only, live changes by the planner, remove tears it down", async () => {
    assert.doesNotThrow(() => execFileSync("sh", ["-c", "command -v ifreload"]), "ifupdown2 is needed (scripts/setup.sh --tests installs it)");
    const ifupdownFabric = (extraRoute: boolean): Fabric =>
      parseFabricOrThrow({
        name: "ifup",
        applyMode: "ifupdown2",
        nodes: {
          elementalist: {
            role: "internal",
            endpoint: lab.host("elementalist").ip,
            interfaces: { wg5: { listenPort: 50005, ip: "10.55.0.1/24" } },
            peers: [{ type: "internal", node: "occultist", nodeIface: "wg5", iface: "wg5", ...(extraRoute ? { allowedIps: ["10.56.0.0/16"] } : {}) }],
          },
          occultist: {
            role: "internal",
            endpoint: lab.host("occultist").ip,
            interfaces: { wg5: { listenPort: 50005, ip: "10.55.0.2/24" } },
            peers: [{ type: "internal", node: "elementalist", nodeIface: "wg5", iface: "wg5" }],
          },
        },
      });
    // a pending edit of the host's own network config: ours must never apply it (ifreload -a would)
    writeFileSync(path.join(lab.host("elementalist").dir, "network/interfaces.d/pending"), "auto dummy7\niface dummy7 inet manual\n\tpre-up ip link add dummy7 type dummy\n");
    const first = await converge(ifupdownFabric(false), connections(lab), pool);
    assert.deepEqual(first.changed, ["elementalist/wg5", "occultist/wg5"]);
    assert.match(lab.readNodeFile("occultist", "/etc/network/interfaces.d/wg-fabric-wg5"), /^# Managed by pulumi-wireguard-fabric for ifup\/occultist\/wg5: .*\nauto wg5\niface wg5 inet static\n\taddress 10\.55\.0\.2\/24\n/);
    assert.match(lab.readNodeFile("occultist", "/etc/wireguard/wg-fabric/wg5.conf"), /^# Managed by .*\n\[Interface\]\nPrivateKey = .*\nListenPort = 50005\n/);
    assert.ok(lab.ping("occultist", "10.55.0.1") >= 2, "ping through the ifupdown2-managed tunnel");
    assert.deepEqual((await converge(ifupdownFabric(false), connections(lab), pool)).changed, []);
    const wgPids = lab.processes("elementalist", "wireguard-go wg5");
    assert.equal(wgPids.length, 1);
    assert.deepEqual((await converge(ifupdownFabric(true), connections(lab), pool)).changed, ["elementalist/wg5"]);
    assert.match(lab.exec("elementalist", "ip", ["route", "show", "dev", "wg5"]), /10\.56\.0\.0\/16/, "the planner added the new route");
    assert.deepEqual(lab.processes("elementalist", "wireguard-go wg5"), wgPids, "no restart");
    assert.throws(() => lab.exec("elementalist", "ip", ["link", "show", "dummy7"]), "the unrelated pending stanza was not applied");
    rmSync(path.join(lab.host("elementalist").dir, "network/interfaces.d/pending"));
    for (const view of resolveInterfaces(ifupdownFabric(true))) {
      await pool.use(view.node, connections(lab)[view.node]!, async (s) => {
        const node = new RemoteNode(s);
        await node.remove(view, "ifupdown2");
        await node.removeKey(view);
      });
      assert.throws(() => lab.exec(view.node, "ip", ["link", "show", "wg5"]));
      assert.equal(existsSync(path.join(lab.host(view.node).dir, "network/interfaces.d/wg-fabric-wg5")), false);
    }
  });

  it("an interface set up by someone else is neither taken over nor removed", async () => {
    const target = { keyDir: "/etc/wireguard/wg-fabric", iface: "wg7", owner: "vpn/occultist/wg7" };
    await pool.use("occultist", connections(lab).occultist!, async (s) => {
      const node = new RemoteNode(s);
      assert.equal((await s.exec("wireguard-go wg7 && wg set wg7 listen-port 50007")).code, 0);
      await node.ensureKey(target);
      await assert.rejects(
        node.sync(target, "wg-quick", "[Interface]\nListenPort = 50009\n"),
        /node occultist \(root@198\.18\.0\.2:22\): applying wg7 failed \(exit 5\): wg7 is up but was not set up by pulumi-wireguard-fabric/,
      );
      await node.remove(target, "wg-quick");
      await node.removeKey(target);
      assert.match((await s.exec("wg show wg7 listen-port")).stdout, /^50007$/m, "still up, still theirs");
      await s.exec("ip link delete dev wg7");
    });
  });

  it("inspect sends back no key line of a hand-edited config, whatever its case or indentation", async () => {
    const conf = path.join(lab.host("elementalist").dir, "wireguard/wg0.conf");
    const original = readFileSync(conf, "utf8");
    const planted = publicKeyOf(privateKeyOf("occultist")).replace(/^./, "Q");
    writeFileSync(conf, `${original}\n  privatekey = ${planted}\n\tPresharedKey=${planted}\n`);
    const view = resolveInterfaces(labSpec(lab, { withMage: true, occultistIp: "198.51.100.12/24" })).find((v) => v.id === "elementalist/wg0")!;
    const received: Buffer[] = [];
    setChannelTap((direction, data) => direction === "received" && received.push(Buffer.from(data)));
    let found;
    try {
      found = await pool.use("elementalist", connections(lab).elementalist!, (s) => new RemoteNode(s).inspect(view, "wg-quick"));
    } finally {
      setChannelTap((_direction, data) => wire.push(Buffer.from(data)));
      writeFileSync(conf, original);
    }
    assert.equal(Buffer.concat(received).includes(planted), false, "the planted key came back over the wire");
    assert.ok((found.live.previous?.peers.length ?? 0) >= 2, "peers and endpoints still come back");
  });

  it("no private key ever crossed the wire, nor reached a local file", () => {
    const sent = Buffer.concat(wire);
    assert.ok(sent.length > 1000, "the tap saw the traffic");
    for (const node of NODES) {
      const key = privateKeyOf(node);
      assert.equal(sent.includes(key), false, `${node}'s private key crossed the wire`);
      const nodeDirs = lab.hosts.map((h) => h.dir);
      const skip = (file: string) => nodeDirs.some((d) => file.startsWith(`${d}/`)) || file.includes("node_modules") || file.startsWith("/proc");
      assert.deepEqual(filesContaining(path.resolve(__dirname, "../../.."), key, skip), [], "no local file of the project holds it");
      assert.deepEqual(filesContaining(tmpdir(), key, skip), [], "no temp file holds it");
    }
  });

  it("refuses a hostile interface name before any command runs", async () => {
    const before = wire.length;
    await assert.rejects(
      pool.use("elementalist", connections(lab).elementalist!, (s) => new RemoteNode(s).ensureKey({ keyDir: "/etc/wireguard/wg-fabric", iface: "wg0;touch /tmp/pwned", owner: "vpn/elementalist/x" })),
      (error: unknown) => error instanceof RemoteError && error.kind === "invalid-argument" && /interface name "wg0;touch \/tmp\/pwned" is 20 characters/.test(error.message),
    );
    assert.equal(wire.length, before, "nothing was sent");
    assert.equal(existsSync("/tmp/pwned"), false);
  });

  it("refuses an interface name that looks like an option (ifdown -a), in TypeScript and again on the node, as every argument", async () => {
    const before = wire.length;
    await assert.rejects(
      pool.use("elementalist", connections(lab).elementalist!, (s) => new RemoteNode(s).remove({ keyDir: "/etc/wireguard/wg-fabric", iface: "-a", owner: "vpn/elementalist/x" }, "ifupdown2")),
      /interface name "-a" must start with a letter or digit; nothing was run/,
    );
    assert.equal(wire.length, before, "nothing was sent");
    // every argument as the contract makes them (no check of its own), for an interface named "-a"
    const args = scriptArgs({ keyDir: "/etc/wireguard/wg-fabric", iface: "-a", owner: "vpn/elementalist/x" }, "ifupdown2");
    for (const script of ["remove", "apply", "inspect", "ensure-key", "remove-key"] as const) {
      const result = await pool.use("elementalist", connections(lab).elementalist!, (s) => s.exec(scriptCommand(nodeScript(script), args)));
      assert.deepEqual([result.code, result.stderr.trim()], [2, "refusing interface name '-a'"], script);
    }
    const good = scriptArgs({ keyDir: "/etc/wireguard/wg-fabric", iface: "wg0", owner: "vpn/elementalist/wg0" }, "wg-quick");
    for (const [index, value, refusal] of [
      [1, "tmp", "refusing key folder 'tmp': not an absolute path"],
      [3, "vpn/elementalist", "refusing owner 'vpn/elementalist'"],
      [4, "/etc/wireguard/../../root/.ssh/authorized_keys", "refusing path '/etc/wireguard/../../root/.ssh/authorized_keys'"],
      [5, "/etc/network/interfaces.d/x;reboot", "refusing path '/etc/network/interfaces.d/x;reboot'"],
      [6, "# Managed by someone else", "refusing marker '# Managed by someone else'"],
      [8, "/etc/wireguard/../x", "refusing key folder '/etc/wireguard/../x'"],
      [9, "/etc/wireguard/x;reboot", "refusing path '/etc/wireguard/x;reboot'"],
      [10, "relative.conf", "refusing path 'relative.conf'"],
      [11, "/etc/wireguard/wg-fabric/wg0.sh;reboot", "refusing path '/etc/wireguard/wg-fabric/wg0.sh;reboot'"],
      [12, "wg0.endpoint-refresh.sh", "refusing path 'wg0.endpoint-refresh.sh'"],
    ] as const) {
      const args = good.map((arg, i) => (i === index ? value : arg));
      const result = await pool.use("elementalist", connections(lab).elementalist!, (s) => s.exec(scriptCommand(nodeScript("ensure-key"), args)));
      assert.deepEqual([result.code, result.stderr.trim()], [2, refusal]);
    }
  });

  it("refuses key folders others could write to (/tmp, a user's folder, a link into /tmp) and keys it did not make safely", async () => {
    const onMage = <T>(work: (node: RemoteNode, session: SshSession) => Promise<T>) => pool.use("mage", connections(lab).mage!, (s) => work(new RemoteNode(s), s));
    await onMage((_, s) => s.exec("mkdir -p /etc/wireguard/user/keys && chown -R 1000 /etc/wireguard/user && mkdir -p /tmp/wgf-lab-link && ln -sfn /tmp/wgf-lab-link /etc/wireguard/linked"));
    for (const [keyDir, reason] of [
      ["/tmp/wgf-lab-keys", "/tmp (mode 1777) is writable by group or others"],
      ["/dev/shm/wgf", "/dev/shm (mode 1777) is writable by group or others"],
      ["/etc/wireguard/user/keys", "/etc/wireguard/user/keys belongs to uid 1000, not root"],
      ["/etc/wireguard/linked/keys", "/tmp/wgf-lab-link (mode 755) is writable by group or others"],
    ]) {
      const refused = onMage((node) => node.ensureKey({ keyDir: keyDir!, iface: "wg4", owner: "vpn/mage/wg4" }));
      if (keyDir === "/etc/wireguard/linked/keys") {
        // the link's target is root's but lies in /tmp: the check follows the link and reaches /tmp
        await assert.rejects(refused, /refusing key folder \/etc\/wireguard\/linked\/keys: \/tmp \(mode 1777\) is writable by group or others/);
      } else {
        await assert.rejects(refused, new RegExp(`refusing key folder ${keyDir!.replace(/\//g, "\\/")}: ${reason!.replace(/[()/]/g, "\\$&")}`));
      }
    }
    assert.equal(existsSync("/tmp/wgf-lab-keys"), false, "nothing was made there");
    // a key someone else left readable: not adopted
    await onMage((_, s) => s.exec("mkdir -p /etc/wireguard/wg-fabric && wg genkey > /etc/wireguard/wg-fabric/wg4.key && chmod 644 /etc/wireguard/wg-fabric/wg4.key"));
    await assert.rejects(
      onMage((node) => node.ensureKey({ keyDir: "/etc/wireguard/wg-fabric", iface: "wg4", owner: "vpn/mage/wg4" })),
      /refusing to adopt \/etc\/wireguard\/wg-fabric\/wg4\.key: it is not root's own 0600 file \(0 644 regular file\)/,
    );
    await onMage((_, s) => s.exec("rm -rf /etc/wireguard/wg-fabric/wg4.key /etc/wireguard/user /etc/wireguard/linked /tmp/wgf-lab-link"));
  });

  it("ownership: a key someone else made is adopted and left on delete; another fabric's key or config is taken only with adopt", async () => {
    const onMage = <T>(work: (node: RemoteNode, session: SshSession) => Promise<T>) => pool.use("mage", connections(lab).mage!, (s) => work(new RemoteNode(s), s));
    const keyDir = "/etc/wireguard/wg-fabric";
    const keyFile = path.join(lab.host("mage").dir, "wireguard/wg-fabric/wg6.key");
    // made by Proxmox (or by hand): root's, 0600, no owner of ours
    await onMage((_, s) => s.exec(`umask 077; mkdir -p ${keyDir} && wg genkey > ${keyDir}/wg6.key`));
    const theirs = publicKeyOf(readFileSync(keyFile, "utf8").trim());
    assert.equal(await onMage((node) => node.ensureKey({ keyDir, iface: "wg6", owner: "vpn/mage/wg6" })), theirs, "adopted, not replaced");
    await onMage((node) => node.removeKey({ keyDir, iface: "wg6", owner: "vpn/mage/wg6" }));
    assert.equal(publicKeyOf(readFileSync(keyFile, "utf8").trim()), theirs, "an adopted key stays on delete");
    // owned by another fabric (another stack): refused, then taken with adopt
    await onMage((node) => node.ensureKey({ keyDir, iface: "wg6", owner: "site-b/mage/wg6", adopt: true }));
    await assert.rejects(
      onMage((node) => node.ensureKey({ keyDir, iface: "wg6", owner: "vpn/mage/wg6" })),
      /\/etc\/wireguard\/wg-fabric\/wg6\.key belongs to site-b\/mage\/wg6 \(fabric site-b\); set adopt: true on the node to take it over/,
    );
    await onMage((_, s) => s.exec(`printf '%s\\n[Interface]\\nListenPort = 50006\\n' '${managedMarker("site-b/mage/wg6")}' > /etc/wireguard/wg6.conf`));
    await assert.rejects(
      onMage((node) => node.sync({ keyDir, iface: "wg6", owner: "vpn/mage/wg6" }, "none", "[Interface]\nListenPort = 50006\n")),
      /\/etc\/wireguard\/wg6\.conf belongs to site-b\/mage\/wg6 \(fabric site-b\); set adopt: true/,
    );
    // a renamed node of the same fabric takes its key over without adopt
    await onMage((node) => node.ensureKey({ keyDir, iface: "wg6", owner: "site-b/wizard/wg6" }));
    await onMage((_, s) => s.exec(`rm -f /etc/wireguard/wg6.conf ${keyDir}/wg6.*`));
  });

  it("a key generation cut short (wg printing nothing) leaves no key in place; an empty key file left behind is made anew", async () => {
    const onMage = <T>(work: (node: RemoteNode, session: SshSession) => Promise<T>) => pool.use("mage", connections(lab).mage!, (s) => work(new RemoteNode(s), s));
    const keyDir = "/etc/wireguard/wg-fabric";
    const keyFile = path.join(lab.host("mage").dir, "wireguard/wg-fabric/wg8.key");
    // a wg that prints nothing and succeeds, as one abandoned by a timeout ends up doing
    lab.nodeExec("mage", "sh", ["-c", "printf '#!/bin/sh\\ncat >/dev/null 2>&1 || true\\n' > /run/wg-mute && chmod 755 /run/wg-mute && mount --bind /run/wg-mute /usr/bin/wg"]);
    try {
      await assert.rejects(onMage((node) => node.ensureKey({ keyDir, iface: "wg8", owner: "vpn/mage/wg8" })), /wg genkey did not print a key; \/etc\/wireguard\/wg-fabric\/wg8\.key is left as it was/);
    } finally {
      lab.nodeExec("mage", "umount", ["/usr/bin/wg"]);
    }
    assert.equal(existsSync(keyFile), false, "no empty key file");
    // what releases before this left in that case: an empty 0600 key, made anew rather than refused
    await onMage((_, s) => s.exec(`umask 077; : > ${keyDir}/wg8.key`));
    const made = await onMage((node) => node.ensureKey({ keyDir, iface: "wg8", owner: "vpn/mage/wg8" }));
    assert.equal(publicKeyOf(readFileSync(keyFile, "utf8").trim()), made);
    await onMage((node) => node.removeKey({ keyDir, iface: "wg8", owner: "vpn/mage/wg8" }));
  });

  it("one run at a time changes a node: a held lock is waited for, and a lock held too long names its holder", async () => {
    const onMage = <T>(work: (node: RemoteNode, session: SshSession) => Promise<T>) => pool.use("mage", connections(lab).mage!, (s) => work(new RemoteNode(s), s));
    const target = { keyDir: "/etc/wireguard/wg-fabric", iface: "wg4", owner: "vpn/mage/wg4" };
    const holding = onMage((_, s) => s.exec("echo other/mage/wg0 > /run/lock/wg-fabric.lock.owner; flock /run/lock/wg-fabric.lock sleep 2"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await onMage((node) => node.ensureKey(target));
    assert.ok(Date.now() - started >= 1500, "waited for the other run");
    await holding;
    const stuck = onMage((_, s) => s.exec("echo other/mage/wg0 > /run/lock/wg-fabric.lock.owner; flock /run/lock/wg-fabric.lock sleep 3"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const result = await onMage((_, s) => s.exec(`WG_FABRIC_LOCK_WAIT=1 ${scriptCommand(nodeScript("remove-key"), scriptArgs(target, "none"))}`));
    assert.deepEqual([result.code, result.stderr.trim()], [75, "another run is changing this node (held by other/mage/wg0); gave up after 1 s"]);
    await stuck;
    await onMage((node) => node.removeKey(target));
  });

  it("a pinned host key that does not match stops before any command", async () => {
    const before = wire.length;
    const wrong = connectionSchema.parse({ ...lab.host("elementalist").connection, hostKey: lab.host("occultist").connection.hostKey, dialErrorLimit: 1 });
    const fresh = new SessionPool();
    await assert.rejects(
      fresh.use("elementalist", wrong, (s) => new RemoteNode(s).ensureKey({ keyDir: "/etc/wireguard/wg-fabric", iface: "wg9", owner: "vpn/elementalist/wg9" })),
      (error: unknown) =>
        error instanceof RemoteError &&
        error.kind === "host-key" &&
        error.message.includes(
          `expected ssh-ed25519 ${lab.hostKeyFingerprint("occultist")}, but the server presented ssh-ed25519 ${lab.hostKeyFingerprint("elementalist")} (${lab.host("elementalist").connection.hostKey}); nothing was run`,
        ),
    );
    assert.equal(wire.length, before, "nothing was sent");
    assert.equal(existsSync(path.join(lab.host("elementalist").dir, "wireguard/wg-fabric/wg9.key")), false);
    await fresh.closeAll();
  });

  it("a node without wireguard-tools gives a clear error naming it", async () => {
    await assert.rejects(
      pool.use("bare", connections(lab).bare!, (s) => new RemoteNode(s).ensureKey({ keyDir: "/etc/wireguard/wg-fabric", iface: "wg0", owner: "vpn/x/wg0" })),
      (error: unknown) => error instanceof RemoteError && error.kind === "missing-tools" && error.message === "node bare (root@198.18.0.4:22): wireguard-tools is not installed (no wg command)",
    );
  });

  it("reaches a node through a jump host (proxy), as @pulumi/command's connection allows", async () => {
    const viaJump = connectionSchema.parse({ ...lab.host("occultist").connection, proxy: lab.host("elementalist").connection });
    const jumpBefore = lab.sshConnections("elementalist");
    const fresh = new SessionPool();
    const key = await fresh.use("occultist", viaJump, (s) => new RemoteNode(s).ensureKey({ keyDir: "/etc/wireguard/wg-fabric", iface: "wg0", owner: "vpn/occultist/wg0" }));
    await fresh.closeAll();
    assert.equal(key, publicKeyOf(privateKeyOf("occultist")));
    assert.equal(lab.sshConnections("elementalist"), jumpBefore + 1, "one connection to the jump host");
  });

  it("a refused login gives a clear error naming node and user", async () => {
    const keyFile = path.join(tmpdir(), `wgf-stranger-${process.pid}`);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
    const stranger = connectionSchema.parse({ ...lab.host("occultist").connection, privateKey: readFileSync(keyFile, "utf8"), dialErrorLimit: 1 });
    rmSync(keyFile);
    rmSync(`${keyFile}.pub`);
    const fresh = new SessionPool();
    await assert.rejects(
      fresh.use("occultist", stranger, (s) => new RemoteNode(s).ensureKey({ keyDir: "/etc/wireguard/wg-fabric", iface: "wg0", owner: "vpn/occultist/wg0" })),
      (error: unknown) => error instanceof RemoteError && error.kind === "auth" && /^node occultist \(root@198\.18\.0\.2:22\): authentication refused for user root/.test(error.message),
    );
    await fresh.closeAll();
  });

  it("a session the node refuses (sshd's MaxSessions below ours) waits for a free one: the commands beside it on the connection carry on", async () => {
    const config = path.join(lab.host("mage").dir, "sshd_config");
    const restart = async (): Promise<void> => {
      await lab.stopSshd("mage");
      await lab.startSshd("mage");
    };
    writeFileSync(config, `${readFileSync(config, "utf8")}MaxSessions 2\n`);
    await restart();
    const narrow = new SessionPool();
    try {
      const connection = connections(lab).mage!;
      const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => narrow.use("mage", connection, (s) => s.exec(`sleep 0.3; echo ${i}`, undefined, `command ${i}`))));
      assert.deepEqual(runs.map((run) => [run.code, run.stdout]), Array.from({ length: 8 }, (_, i) => [0, `${i}\n`]));
      assert.equal(narrow.stats.connections, 1, "one connection: none was dropped for a refused session");
    } finally {
      await narrow.closeAll();
      writeFileSync(config, readFileSync(config, "utf8").replace("MaxSessions 2\n", ""));
      await restart();
    }
  });

  it("a connection that closed under the next command: not started (ssh2 throws at once), and the pool dials anew", async () => {
    const dropping = new SessionPool();
    const connection = connections(lab).mage!;
    const first = await dropping.use("mage", connection, async (s) => s);
    // the socket is gone before ssh2 has said so (a cut between two commands): a fault injected by hand
    (first as unknown as { client: { _sock: { destroy(): void } } }).client._sock.destroy();
    await assert.rejects(first.exec("true", undefined, "the next command"), (error: unknown) => error instanceof RemoteError && error.kind === "not-started" && /could not start the next command: Not connected/.test(error.message));
    assert.equal((await dropping.use("mage", connection, (s) => s.exec("echo again"))).stdout, "again\n");
    assert.equal(dropping.stats.connections, 2);
    await dropping.closeAll();
  });

  it("dialErrorLimit and perDialTimeout mean what @pulumi/command means: N failed dials allowed before the last, -1 unlimited, 0 no maximum", async () => {
    // a front on loopback that drops its first connections before any byte, then passes the rest to mage's sshd
    const target = connections(lab).mage!;
    const front = (drops: number) => {
      let seen = 0;
      const server = net.createServer((socket) => {
        seen++;
        if (seen <= drops) return socket.destroy();
        const upstream = net.connect(target.port, target.host);
        socket.pipe(upstream).pipe(socket);
        upstream.on("error", () => socket.destroy());
        socket.on("error", () => upstream.destroy());
      });
      return new Promise<{ port: number; seen: () => number; close: () => void }>((resolve) =>
        server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as net.AddressInfo).port, seen: () => seen, close: () => server.close() })),
      );
    };
    const via = (port: number, fields: Partial<Connection>): Connection => connectionSchema.parse({ ...target, host: "127.0.0.1", port, hostKey: target.hostKey, ...fields });
    const dropping = await front(4);
    try {
      await assert.rejects(SshSession.open("mage", via(dropping.port, { dialErrorLimit: 2 })), (error: unknown) => error instanceof RemoteError && error.kind === "unreachable" && /\(after 3 attempts\)$/.test(error.message));
      assert.equal(dropping.seen(), 3, "2 failed dials allowed, then a third fails and ends it");
      await assert.rejects(SshSession.open("mage", via(dropping.port, { dialErrorLimit: 0 })), /\(after 1 attempt\)$/);
      assert.equal(dropping.seen(), 4);
    } finally {
      dropping.close();
    }
    const patient = await front(4);
    try {
      const session = await SshSession.open("mage", via(patient.port, { dialErrorLimit: -1, perDialTimeout: 0 }));
      assert.equal((await session.exec("echo through")).stdout, "through\n", "-1 dials on past every failure; 0 sets no handshake timeout");
      assert.equal(patient.seen(), 5);
      session.close();
    } finally {
      patient.close();
    }
    assert.throws(() => connectionSchema.parse({ host: "h", dialErrorLimit: -2 }), /must be -1 \(unlimited\) or more/);
    assert.throws(() => connectionSchema.parse({ host: "h", perDialTimeout: -1 }), /must be 0 \(no maximum\) or more seconds/);
  });

  it("a node whose sshd is down gives a clear error naming it", async () => {
    await lab.stopSshd("mage");
    const fresh = new SessionPool();
    await assert.rejects(
      fresh.use("mage", connections(lab).mage!, (s) => new RemoteNode(s).ensureKey({ keyDir: "/etc/wireguard/wg-fabric", iface: "wg0", owner: "vpn/x/wg0" })),
      (error: unknown) => error instanceof RemoteError && error.kind === "unreachable" && /^node mage \(root@198\.18\.0\.3:22\): cannot connect: connect ECONNREFUSED 198\.18\.0\.3:22 \(after 3 attempts\)$/.test(error.message),
    );
    await fresh.closeAll();
  });
});
