/**
 * A local lab of real hosts on this machine: per node a network namespace on a bridge in
 * 198.18.0.0/15 (RFC 2544 benchmark range), its own mount namespace (private /run,
 * /etc/wireguard, /etc/network, /etc/systemd/system, /root and /var/tmp, so wireguard-go
 * sockets, keys, configs, boot units, ifupdown2's state and the host's shell start-up files are
 * not shared) and its own sshd, with OpenSSH's defaults (MaxSessions 10). wg-quick falls back to
 * wireguard-go (no kernel module here). A node may have the Proxmox VE personality (see
 * {@link LabOptions.proxmox}); any node can be rebooted ({@link Lab.reboot}). Everything is torn
 * down by PID and by name, also what a crashed run left behind. Needs root.
 */
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { nodeAddressViews, recordedPublicKeys, renderNodeAddressStanza, renderProxmoxConfig, renderProxmoxStanza, resolveInterfaces } from "../provider/fabric";
import { parseSectionConfig } from "../provider/section-config";
import { PVE_FABRICS_CFG } from "../provider/remote/plan";
import { encodeRecords } from "../provider/remote";

/** One lab host, ready for SSH. */
export interface LabHost {
  /** Node name, e.g. "elementalist". */
  readonly name: string;
  /** Network namespace. */
  readonly netns: string;
  /** Address on the lab bridge. */
  readonly ip: string;
  /** sshd's PID. */
  readonly pid: number;
  /** The node's private state folder (its /etc/wireguard is `${dir}/wireguard`). */
  readonly dir: string;
  /** The node has the Proxmox VE personality (see {@link LabOptions.proxmox}). */
  readonly proxmox: boolean;
  /** wireguard-tools look uninstalled on it (see {@link LabOptions.withoutWireguardTools}), through every restart of its sshd. */
  readonly withoutWireguardTools: boolean;
  /** A connection in `@pulumi/command`'s shape, with the host key pinned. */
  readonly connection: { host: string; port: number; user: string; privateKey: string; hostKey: string };
}

/** Options of {@link startLab}. */
export interface LabOptions {
  /** Short name, prefix of every namespace and link (default "wgf"; at most 6 characters). */
  readonly name?: string;
  /** Third octet of the lab's 198.18.X.0/24 (default 0), so labs can coexist. */
  readonly subnet?: number;
  /** Hosts on which wireguard-tools look uninstalled (`wg` and `wg-quick` hidden in their mount namespace). */
  readonly withoutWireguardTools?: readonly string[];
  /**
   * Hosts with what a Proxmox VE node has for its network: its host name (its own UTS
   * namespace), `/etc/network/interfaces` as the installer writes it, a private `/etc/pve` for
   * Proxmox VE's own WireGuard fabrics (`sdn/fabrics.cfg`, `priv/wg-keys.cfg`: see
   * {@link Lab.pveFabrics}, {@link Lab.pveKey}), its network apply ({@link Lab.pveNetworkApply}),
   * and, as the kernel would, `ip link add … type wireguard` (lab/pve/ip-kernel-stand-in.sh) for
   * the `link-type wireguard` stanzas Proxmox VE's ifupdown2 brings up.
   */
  readonly proxmox?: readonly string[];
}

const REQUIRED_COMMANDS = ["ip", "sshd", "ssh-keygen", "wg", "wg-quick", "wireguard-go", "unshare", "ping"];
const ROOT = path.resolve(__dirname, "../../.lab");
/** The lab's stand-ins for Proxmox VE (shell run on the nodes, in the repository). */
const PVE_SCRIPTS = path.resolve(__dirname, "../../lab/pve");
/** wireguard-go, for the boot and apply commands the lab runs on a node (its sshd sets the same for sessions). */
const USERSPACE_WIREGUARD = "export WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1;";

function sh(command: string, args: readonly string[], input?: string): string {
  return execFileSync(command, args, { encoding: "utf8", input, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
}

/** {@link sh} without blocking: the lab's own event loop (a converge in the same process) goes on meanwhile. */
function shAsync(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (data: Buffer) => (output += data.toString()));
    child.stderr.on("data", (data: Buffer) => (output += data.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${output}`))));
    child.stdin.end(input ?? "");
  });
}

function trySh(command: string, args: readonly string[]): boolean {
  try {
    sh(command, args);
    return true;
  } catch {
    return false;
  }
}

function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = net.connect({ host, port });
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`sshd on ${host}:${port} did not come up in ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** A running lab; {@link Lab.stop} tears it down. */
export class Lab {
  private constructor(
    readonly name: string,
    readonly bridge: string,
    readonly hosts: LabHost[],
    private readonly dir: string,
  ) {}

  /** The host named `name`. */
  host(name: string): LabHost {
    const host = this.hosts.find((h) => h.name === name);
    if (!host) throw new Error(`lab ${this.name} has no host ${name}`);
    return host;
  }

  /** Runs a command inside a host's network namespace (not its mount namespace). */
  exec(name: string, command: string, args: readonly string[]): string {
    return sh("ip", ["netns", "exec", this.host(name).netns, command, ...args]);
  }

  /** Runs a command as the node sees the world: its network and mount namespaces (its /run, /etc/wireguard), and its host name. */
  nodeExec(name: string, command: string, args: readonly string[], input?: string): string {
    const host = this.host(name);
    return sh("nsenter", ["-t", String(host.pid), "-m", "-n", ...(host.proxmox ? ["-u"] : []), command, ...args], input);
  }

  /** Writes Proxmox VE's `fabrics.cfg` on every node with the Proxmox VE personality (one cluster file system). */
  pveFabrics(text: string): void {
    for (const host of this.hosts.filter((h) => h.proxmox)) writeFileSync(path.join(host.dir, "pve/sdn/fabrics.cfg"), text);
  }

  /** Proxmox VE's key of one of its WireGuard interfaces on a node, made there if missing (lab/pve/pve-wg-key.sh); its public key. */
  pveKey(name: string, iface: string): string {
    return this.nodeExec(name, "sh", [path.join(PVE_SCRIPTS, "pve-wg-key.sh"), name, iface]).trim();
  }

  /**
   * Applies a Proxmox VE node's network as Proxmox VE does (lab/pve/pve-network-apply.sh): its
   * SDN stanzas (the node's own addresses on `dummy_<fabric>`, then its interfaces) and WireGuard configs written anew from its fabrics.cfg (rendered here as Proxmox
   * VE renders them, the private keys added on the node), every other `*.conf` in
   * /etc/wireguard/proxmox deleted, then `ifreload -a`. Resolves to what it printed; rejects when
   * it fails, as Proxmox VE's task does.
   */
  pveNetworkApply(name: string): Promise<string> {
    const host = this.host(name);
    if (!host.proxmox) throw new Error(`${name} has no Proxmox VE personality`);
    const file = path.join(host.dir, "pve/sdn/fabrics.cfg");
    const stanzas: string[] = [];
    const configs: [string, string][] = [];
    if (existsSync(file)) {
      for (const fabric of parseSectionConfig(readFileSync(file, "utf8"), PVE_FABRICS_CFG, { dialect: "proxmox" }).fabrics) {
        // the node's own addresses on dummy_<fabric> first, as get_interfaces_etc_network_config does
        for (const address of nodeAddressViews(fabric).filter((v) => v.node === name)) stanzas.push(renderNodeAddressStanza(address.link, address));
        for (const view of resolveInterfaces(fabric).filter((v) => v.node === name)) {
          stanzas.push(renderProxmoxStanza(view));
          configs.push([`conf.${view.iface}`, renderProxmoxConfig(view, { publicKeys: recordedPublicKeys(fabric) })]);
        }
      }
    }
    const records = encodeRecords([["sdn", stanzas.join("\n")], ...configs]);
    const args = ["-t", String(host.pid), "-m", "-n", "-u", "sh", "-c", `${USERSPACE_WIREGUARD} exec sh "$0" "$1"`, path.join(PVE_SCRIPTS, "pve-network-apply.sh"), name];
    return shAsync("nsenter", args, records);
  }

  /**
   * Makes a node's folder `dir` a full disk: a small tmpfs over it, its files copied in, then
   * filled to the last byte. Returns what ends it: the files as they are then are copied back
   * to the disk's folder and the tmpfs goes.
   */
  fillFolder(name: string, dir: string): () => void {
    const saved = this.nodeExec(name, "sh", [
      "-c",
      `set -e; saved=$(mktemp -d /run/full.XXXXXX); cp -a ${dir}/. "$saved"/; mount -t tmpfs -o size=64k,mode=0700 tmpfs ${dir}; cp -a "$saved"/. ${dir}/; ` +
        `dd if=/dev/zero of=${dir}/.filler bs=4k 2>/dev/null || true; echo "$saved"`,
    ]).trim();
    return () => void this.nodeExec(name, "sh", ["-c", `set -e; rm -f ${dir}/.filler; rm -rf ${saved}/*; cp -a ${dir}/. ${saved}/; umount -l ${dir}; cp -a ${saved}/. ${dir}/; rm -rf ${saved}`]);
  }

  /** Adds an address to a node's eth0, and on a Proxmox VE node to its /etc/network/interfaces too (its ifupdown2 would purge one it does not list). */
  addEth0Address(name: string, cidr: string): void {
    const host = this.host(name);
    this.exec(name, "ip", ["address", "add", cidr, "dev", "eth0"]);
    if (!host.proxmox) return;
    const file = path.join(host.dir, "network/interfaces");
    writeFileSync(file, readFileSync(file, "utf8").replace(/^(iface eth0 inet static\n(?:\t.*\n)*)/m, `$1\taddress ${cidr}\n`));
  }

  /**
   * Reboots a node, as far as its network goes: every process in it ends (sshd, wireguard-go,
   * sessions), every link but lo and eth0 goes with its addresses and routes, /run is empty
   * again; then boot runs what a node runs, in systemd's order: ifupdown2's networking service
   * (`start-networking start`: `ifup -a` of /etc/network/interfaces), each enabled
   * `wg-quick@IFACE` unit (`wg-quick up IFACE`), then sshd. Files stay, as on a disk. Returns
   * what the boot printed.
   */
  async reboot(name: string): Promise<string> {
    const host = this.host(name);
    const killAll = (): number[] => {
      const pids = sh("ip", ["netns", "pids", host.netns]).split("\n").filter(Boolean).map(Number);
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      return pids;
    };
    for (let tries = 0; killAll().length > 0 && tries < 50; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const line of sh("ip", ["-n", host.netns, "-o", "link", "show"]).split("\n")) {
      const link = /^\d+: ([^:@]+)/.exec(line)?.[1];
      if (link && link !== "lo" && link !== "eth0") trySh("ip", ["-n", host.netns, "link", "delete", "dev", link]);
    }
    // the kernel starts afresh: the namespace's policy rules, nftables ruleset and sysctls back to a boot's
    const inNs = (command: string, args: string[]): void => void sh("ip", ["netns", "exec", host.netns, command, ...args]);
    for (const [family, tables] of [["-4", ["main", "default"]], ["-6", ["main"]]] as const) {
      inNs("ip", [family, "rule", "flush"]);
      tables.forEach((table, i) => inNs("ip", [family, "rule", "add", "priority", String(32766 + i), "table", table]));
    }
    if (trySh("sh", ["-c", "command -v nft"])) inNs("nft", ["flush", "ruleset"]);
    inNs("sysctl", ["-q", "net.ipv4.conf.all.src_valid_mark=0"]);
    rmSync(path.join(host.dir, "run"), { recursive: true, force: true });
    Lab.prepareRun(host.dir);
    const pid = Lab.respawnSshd(host);
    const booted = { ...host, pid };
    this.hosts[this.hosts.indexOf(host)] = booted;
    const wants = path.join(host.dir, "systemd/multi-user.target.wants");
    const units = existsSync(wants) ? readdirSync(wants).flatMap((unit) => /^wg-quick@(.+)\.service$/.exec(unit)?.[1] ?? []) : [];
    const boot = [
      "[ ! -x /usr/share/ifupdown2/sbin/start-networking ] || /usr/share/ifupdown2/sbin/start-networking start",
      ...units.map((iface) => `wg-quick up ${iface}`),
    ].join("; ");
    // sshd is up before the boot's services here (the lab's entry to the node): the wait is for the port
    await waitForPort(host.ip, 22, 10_000);
    return this.nodeExec(name, "sh", ["-c", `${USERSPACE_WIREGUARD} { ${boot}; } 2>&1`]);
  }

  /** Sends `count` pings from host `from` to `address`, bounded to about a second each; returns packets received. */
  ping(from: string, address: string, count = 3, intervalSeconds = 0.2): number {
    try {
      const out = this.exec(from, "ping", ["-n", "-q", "-c", String(count), "-i", String(intervalSeconds), "-W", "1", address]);
      return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
    } catch (error) {
      const out = String((error as { stdout?: string }).stdout ?? "");
      return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
    }
  }

  /**
   * Starts `count` pings (interval in seconds) in the background; resolves to ping's summary
   * output. `trace`: every reply and every late one (`no answer yet for icmp_seq=N`) too, each
   * with its time (`[EPOCH.MICROS]`), to find when a loss happened.
   */
  pingInBackground(from: string, address: string, count: number, intervalSeconds: number, trace = false): Promise<string> {
    // ping's own -w deadline bounds it in time as well as in count
    const deadline = String(Math.ceil(count * intervalSeconds) + 5);
    const verbosity = trace ? ["-D", "-O"] : ["-q"];
    const child = spawn("ip", ["netns", "exec", this.host(from).netns, "ping", "-n", ...verbosity, "-c", String(count), "-i", String(intervalSeconds), "-W", "1", "-w", deadline, address], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (data: Buffer) => (output += data.toString()));
    return new Promise((resolve) => child.on("close", () => resolve(output)));
  }

  /** What host `name` has of interface `iface`, for a message: `wg show` (no private key), its addresses and routes. */
  tunnelState(name: string, iface: string): string {
    const run = (command: string, args: string[]): string => {
      try {
        return this.nodeExec(name, command, args).trim();
      } catch (error) {
        return `${command} ${args.join(" ")}: ${(error as Error).message.split("\n")[0]}`;
      }
    };
    return [`${name}:`, run("wg", ["show", iface]), run("ip", ["-br", "address", "show", "dev", iface]), run("ip", ["route", "show", "dev", iface])].join("\n");
  }

  /**
   * Records the netlink events of host `name` (links, addresses, routes, rules; `ip -ts monitor`)
   * until the returned function is called, which resolves to them. The process runs in the
   * node's namespace: {@link Lab.stop} ends it with the node's others.
   */
  monitor(name: string): () => Promise<string> {
    const child = spawn("ip", ["-n", this.host(name).netns, "-ts", "monitor", "link", "address", "route", "rule"], { stdio: ["ignore", "pipe", "ignore"] });
    let output = "";
    child.stdout.on("data", (data: Buffer) => (output += data.toString()));
    const closed = new Promise<string>((resolve) => child.on("close", () => resolve(output)));
    return () => {
      child.kill("SIGTERM");
      return closed;
    };
  }

  /** Pings once a second until the first answer, for at most `seconds`; resolves to the seconds it took, or undefined. */
  async pingUntilAnswer(from: string, address: string, seconds: number): Promise<number | undefined> {
    const started = Date.now();
    const child = spawn("ip", ["netns", "exec", this.host(from).netns, "ping", "-n", "-q", "-c", "1", "-W", "1", "-w", String(seconds), address], { stdio: "ignore" });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    return code === 0 ? Math.round((Date.now() - started) / 1000) : undefined;
  }

  /**
   * Makes the node's own resolver answer `hostName` with `address` (its private /etc/hosts, as an
   * operator's DNS would), or no longer answer it (`undefined`). The file is rewritten in place:
   * the node's bind mount keeps seeing it.
   */
  setHostName(name: string, hostName: string, address: string | undefined): void {
    const file = path.join(this.host(name).dir, "hosts");
    const kept = readFileSync(file, "utf8").split("\n").filter((line) => line !== "" && line.split(/\s+/)[1] !== hostName);
    writeFileSync(file, [...kept, ...(address ? [`${address}\t${hostName}`] : []), ""].join("\n"));
  }

  /** Adds (`add`) or removes (`del`) an address of the node's underlay link (eth0), as a changed uplink would. */
  underlayAddress(name: string, action: "add" | "del", address: string): void {
    sh("ip", ["-n", this.host(name).netns, "address", action, `${address}/24`, "dev", "eth0"]);
  }

  /** Where a file the node sees in its private folders (e.g. its keys) is on this machine. */
  nodePath(name: string, nodePath: string): string {
    const host = this.host(name);
    const mapped = nodePath
      .replace(/^\/etc\/wireguard(?=\/|$)/, `${host.dir}/wireguard`)
      .replace(/^\/etc\/network(?=\/|$)/, `${host.dir}/network`)
      .replace(/^\/etc\/pve(?=\/|$)/, `${host.dir}/pve`)
      .replace(/^\/run(?=\/|$)/, `${host.dir}/run`);
    if (mapped === nodePath) throw new Error(`${nodePath} is not in a node's private folders`);
    return mapped;
  }

  /** Reads a file as the node sees it, from the node's private folders (e.g. its keys). */
  readNodeFile(name: string, nodePath: string): string {
    return readFileSync(this.nodePath(name, nodePath), "utf8");
  }

  /** PIDs of the processes in a host's network namespace whose command line contains `text`. */
  processes(name: string, text: string): number[] {
    return sh("ip", ["netns", "pids", this.host(name).netns])
      .split("\n")
      .filter(Boolean)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").includes(text);
        } catch {
          return false;
        }
      })
      .map(Number);
  }

  /** How many SSH connections the host's sshd has accepted so far (from its log). */
  sshConnections(name: string): number {
    const log = path.join(this.host(name).dir, "sshd.log");
    if (!existsSync(log)) return 0;
    return (readFileSync(log, "utf8").match(/^.*Connection from .* port \d+ on /gm) ?? []).length;
  }

  /** How many SSH logins the host's sshd has accepted (its own port probes are connections, not logins). */
  sshLogins(name: string): number {
    const log = path.join(this.host(name).dir, "sshd.log");
    return existsSync(log) ? (readFileSync(log, "utf8").match(/^Accepted publickey for /gm) ?? []).length : 0;
  }

  /** SSH connections accepted by all hosts together. */
  totalSshConnections(): number {
    return this.hosts.reduce((sum, host) => sum + this.sshConnections(host.name), 0);
  }

  /** Stops sshd on one host (to test unreachable nodes); {@link Lab.stop} still cleans up. */
  async stopSshd(name: string): Promise<void> {
    const host = this.host(name);
    try {
      process.kill(host.pid, "SIGKILL");
    } catch {
      // already gone
    }
    // returns once the port refuses connections
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: host.ip, port: 22 });
        socket.once("connect", () => {
          socket.destroy();
          resolve(false);
        });
        socket.once("error", () => resolve(true));
      });
      if (refused) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`sshd of ${name} still accepts connections`);
  }

  /**
   * Starts a lab with one host per name. Any lab of the same name left over by a crashed run
   * is removed first.
   */
  static async start(names: readonly string[], options: LabOptions = {}): Promise<Lab> {
    const missing = REQUIRED_COMMANDS.filter((command) => !trySh("sh", ["-c", `command -v ${command}`]));
    if (missing.length > 0) throw new Error(`the lab needs ${missing.join(", ")}: run scripts/setup.sh (installs the Debian packages)`);
    const name = options.name ?? "wgf";
    if (!/^[a-z][a-z0-9]{0,5}$/.test(name)) throw new Error(`lab name "${name}" must be 1-6 lowercase letters/digits`);
    if (names.length > 250) throw new Error("a lab has at most 250 hosts");
    const subnet = options.subnet ?? 0;
    Lab.cleanup(name);
    const dir = path.join(ROOT, name);
    mkdirSync(dir, { recursive: true });
    mkdirSync("/etc/wireguard", { recursive: true });
    mkdirSync("/etc/network", { recursive: true });
    // the mount point of a Proxmox VE node's private /etc/pve
    if ((options.proxmox ?? []).length > 0) mkdirSync("/etc/pve", { recursive: true });
    const bridge = `${name}br`;
    sh("ip", ["link", "add", bridge, "type", "bridge"]);
    sh("ip", ["addr", "add", `198.18.${subnet}.254/24`, "dev", bridge]);
    sh("ip", ["link", "set", bridge, "up"]);
    const clientKey = path.join(dir, "client_ed25519");
    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "wg-fabric-lab", "-f", clientKey]);
    const lab = new Lab(name, bridge, [], dir);
    try {
      for (const [index, hostName] of names.entries()) {
        lab.hosts.push(lab.startHost(hostName, index, subnet, clientKey, options.withoutWireguardTools?.includes(hostName) ?? false, options.proxmox?.includes(hostName) ?? false));
      }
      await Promise.all(lab.hosts.map((host) => waitForPort(host.ip, 22, 10_000)));
    } catch (error) {
      lab.stop();
      throw error;
    }
    return lab;
  }

  private startHost(hostName: string, index: number, subnet: number, clientKey: string, hideWireguardTools: boolean, proxmox: boolean): LabHost {
    const netns = `${this.name}-${hostName}`.slice(0, 30);
    const veth = `${this.name}v${index}`;
    const ip = `198.18.${subnet}.${index + 1}`;
    const dir = path.join(this.dir, hostName);
    for (const sub of ["run", "wireguard", "network/interfaces.d", "systemd", "root", "vartmp", ...(proxmox ? ["pve/sdn", "pve/priv"] : [])]) mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 });
    Lab.prepareRun(dir);
    // a private /etc/hosts: names the node's own resolver answers (see setHostName)
    writeFileSync(path.join(dir, "hosts"), existsSync("/etc/hosts") ? readFileSync("/etc/hosts") : "127.0.0.1\tlocalhost\n");
    // a private /etc/network, for ifupdown2 mode: the node's own interfaces only; on a Proxmox VE
    // node as its installer writes it (the management address static, then what SDN and others add)
    writeFileSync(
      path.join(dir, "network/interfaces"),
      proxmox
        ? `auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n\taddress ${ip}/24\n\nsource /etc/network/interfaces.d/*\n`
        : "auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n",
    );
    if (existsSync("/etc/network/ifupdown2")) cpSync("/etc/network/ifupdown2", path.join(dir, "network/ifupdown2"), { recursive: true });
    sh("ip", ["netns", "add", netns]);
    sh("ip", ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns]);
    sh("ip", ["link", "set", veth, "master", this.bridge, "up"]);
    sh("ip", ["-n", netns, "addr", "add", `${ip}/24`, "dev", "eth0"]);
    sh("ip", ["-n", netns, "link", "set", "eth0", "up"]);
    sh("ip", ["-n", netns, "link", "set", "lo", "up"]);
    const hostKey = path.join(dir, "ssh_host_ed25519_key");
    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", hostName, "-f", hostKey]);
    writeFileSync(path.join(dir, "authorized_keys"), readFileSync(`${clientKey}.pub`), { mode: 0o600 });
    writeFileSync(
      path.join(dir, "sshd_config"),
      [
        `ListenAddress ${ip}`,
        "Port 22",
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PidFile /run/sshd.pid",
        "LogLevel VERBOSE",
        "SetEnv WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1",
        "",
      ].join("\n"),
    );
    const pid = Lab.spawnSshd(netns, dir, hideWireguardTools, proxmox ? hostName : undefined);
    const hostKeyLine = readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    return {
      name: hostName,
      netns,
      ip,
      pid,
      dir,
      proxmox,
      withoutWireguardTools: hideWireguardTools,
      connection: { host: ip, port: 22, user: "root", privateKey: readFileSync(clientKey, "utf8"), hostKey: hostKeyLine },
    };
  }

  /** What a node's /run holds after boot: the folders its services expect. */
  private static prepareRun(dir: string): void {
    for (const sub of ["run/sshd", "run/network", "run/lock"]) mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o755 });
  }

  /** Starts a node's sshd again, as {@link Lab.startHost} first started it. */
  private static respawnSshd(host: LabHost): number {
    return Lab.spawnSshd(host.netns, host.dir, host.withoutWireguardTools, host.proxmox ? host.name : undefined);
  }

  /**
   * Starts a node's sshd in its namespaces (private mounts; with `proxmoxName`, the Proxmox VE
   * personality: that host name, /etc/pve, the kernel stand-in over `ip`); returns sshd's PID,
   * also kept in `dir/pid`.
   */
  private static spawnSshd(netns: string, dir: string, hideWireguardTools: boolean, proxmoxName?: string): number {
    // ip netns exec, unshare and sh all exec: the PID we get is sshd's own.
    const child = spawn(
      "ip",
      [
        "netns", "exec", netns,
        "unshare", "--mount", ...(proxmoxName ? ["--uts"] : []), "--propagation", "private",
        "sh", "-c",
        'mount --bind "$1/run" /run && mount --bind "$1/wireguard" /etc/wireguard && mount --bind "$1/network" /etc/network && mount --bind "$1/hosts" /etc/hosts && ' +
          'mount --bind "$1/systemd" /etc/systemd/system && mount --bind "$1/root" /root && mount --bind "$1/vartmp" /var/tmp && ' +
          'if [ "$2" = hide ]; then for t in /usr/bin/wg /usr/bin/wg-quick; do mount --bind /dev/null "$t"; done; fi && ' +
          'if [ -n "$3" ]; then echo "$3" > /proc/sys/kernel/hostname && mount --bind "$1/pve" /etc/pve && ' +
          ': > /run/.lab-kernel-ip && mount --bind /usr/bin/ip /run/.lab-kernel-ip && mount --bind "$4/ip-kernel-stand-in.sh" /usr/bin/ip; fi && ' +
          'exec /usr/sbin/sshd -D -E "$1/sshd.log" -f "$1/sshd_config"',
        "lab-node", dir, hideWireguardTools ? "hide" : "keep", proxmoxName ?? "", PVE_SCRIPTS,
      ],
      { detached: true, stdio: ["ignore", "ignore", "ignore"] },
    );
    child.unref();
    if (!child.pid) throw new Error(`could not start sshd in ${netns}`);
    writeFileSync(path.join(dir, "pid"), String(child.pid));
    return child.pid;
  }

  /**
   * Gives a node a new SSH host key, as a reinstall (or a machine in the middle) would, and
   * restarts its sshd; returns the new key (`ssh-ed25519 AAAA…`). WireGuard keeps running.
   */
  async replaceHostKey(name: string): Promise<string> {
    const host = this.host(name);
    await this.stopSshd(name);
    // open sessions end too, as on a reinstalled host: clients must dial anew and see the new key
    for (const pid of this.processes(name, "sshd")) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const hostKey = path.join(host.dir, "ssh_host_ed25519_key");
    rmSync(hostKey, { force: true });
    rmSync(`${hostKey}.pub`, { force: true });
    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", hostKey]);
    const pid = Lab.respawnSshd(host);
    const line = readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    this.hosts[this.hosts.indexOf(host)] = { ...host, pid, connection: { ...host.connection, hostKey: line } };
    await waitForPort(host.ip, 22, 10_000);
    return line;
  }

  /** Starts a node's sshd again after {@link Lab.stopSshd}, same host key. */
  async startSshd(name: string): Promise<void> {
    const host = this.host(name);
    const pid = Lab.respawnSshd(host);
    this.hosts[this.hosts.indexOf(host)] = { ...host, pid };
    await waitForPort(host.ip, 22, 10_000);
  }

  /** `SHA256:…` of a node's host key, as OpenSSH's ssh-keygen prints it. */
  hostKeyFingerprint(name: string): string {
    return sh("ssh-keygen", ["-lf", path.join(this.host(name).dir, "ssh_host_ed25519_key.pub")]).split(" ")[1] as string;
  }

  /** Tears the lab down: processes by PID and by namespace, then namespaces, links and files. */
  stop(): void {
    Lab.cleanup(this.name);
  }

  /** Removes everything a lab called `name` may have left: processes, namespaces, links, files. */
  static cleanup(name: string): void {
    const dir = path.join(ROOT, name);
    if (existsSync(dir)) {
      for (const entry of sh("ls", [dir]).split("\n").filter(Boolean)) {
        const pidFile = path.join(dir, entry, "pid");
        if (!existsSync(pidFile)) continue;
        try {
          process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    const namespaces = sh("ip", ["netns", "list"])
      .split("\n")
      .map((line) => line.split(" ")[0] ?? "")
      .filter((ns) => ns.startsWith(`${name}-`));
    for (const ns of namespaces) {
      // wireguard-go and any SSH session left in the namespace
      for (const pid of sh("ip", ["netns", "pids", ns]).split("\n").filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // already gone
        }
      }
      trySh("ip", ["netns", "del", ns]);
    }
    for (const link of sh("ip", ["-o", "link", "show"]).split("\n")) {
      const linkName = /^\d+: ([^:@]+)/.exec(link)?.[1];
      if (linkName && (linkName === `${name}br` || new RegExp(`^${name}v\\d+$`).test(linkName))) trySh("ip", ["link", "del", linkName]);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
