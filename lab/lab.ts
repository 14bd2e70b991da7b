/**
 * A local lab of real hosts on this machine: per node a network namespace on a bridge in
 * 198.18.0.0/15 (RFC 2544 benchmark range), its own mount namespace (private /run,
 * /etc/wireguard, /etc/network, /etc/systemd/system and /root, so wireguard-go sockets, keys,
 * configs, boot units and the host's shell start-up files are not shared) and its own sshd, with OpenSSH's defaults (MaxSessions 10). wg-quick
 * falls back to wireguard-go (no kernel module here). Everything is torn down by PID and by
 * name, also what a crashed run left behind. Needs root.
 */
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

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
}

const REQUIRED_COMMANDS = ["ip", "sshd", "ssh-keygen", "wg", "wg-quick", "wireguard-go", "unshare", "ping"];
const ROOT = path.resolve(__dirname, "../../.lab");

function sh(command: string, args: readonly string[], input?: string): string {
  return execFileSync(command, args, { encoding: "utf8", input, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
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

  /** Runs a command as the node sees the world: its network and mount namespaces (its /run, /etc/wireguard). */
  nodeExec(name: string, command: string, args: readonly string[]): string {
    return sh("nsenter", ["-t", String(this.host(name).pid), "-m", "-n", command, ...args]);
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

  /** Starts `count` pings (interval in seconds) in the background; resolves to ping's summary output. */
  pingInBackground(from: string, address: string, count: number, intervalSeconds: number): Promise<string> {
    // ping's own -w deadline bounds it in time as well as in count
    const deadline = String(Math.ceil(count * intervalSeconds) + 5);
    const child = spawn("ip", ["netns", "exec", this.host(from).netns, "ping", "-n", "-q", "-c", String(count), "-i", String(intervalSeconds), "-W", "1", "-w", deadline, address], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (data: Buffer) => (output += data.toString()));
    return new Promise((resolve) => child.on("close", () => resolve(output)));
  }

  /** Pings once a second until the first answer, for at most `seconds`; resolves to the seconds it took, or undefined. */
  async pingUntilAnswer(from: string, address: string, seconds: number): Promise<number | undefined> {
    const started = Date.now();
    const child = spawn("ip", ["netns", "exec", this.host(from).netns, "ping", "-n", "-q", "-c", "1", "-W", "1", "-w", String(seconds), address], { stdio: "ignore" });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    return code === 0 ? Math.round((Date.now() - started) / 1000) : undefined;
  }

  /** Reads a file as the node sees it, from the node's private folders (e.g. its keys). */
  readNodeFile(name: string, nodePath: string): string {
    const host = this.host(name);
    const mapped = nodePath
      .replace(/^\/etc\/wireguard(?=\/|$)/, `${host.dir}/wireguard`)
      .replace(/^\/etc\/network(?=\/|$)/, `${host.dir}/network`)
      .replace(/^\/run(?=\/|$)/, `${host.dir}/run`);
    if (mapped === nodePath) throw new Error(`${nodePath} is not in a node's private folders`);
    return readFileSync(mapped, "utf8");
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
    const bridge = `${name}br`;
    sh("ip", ["link", "add", bridge, "type", "bridge"]);
    sh("ip", ["addr", "add", `198.18.${subnet}.254/24`, "dev", bridge]);
    sh("ip", ["link", "set", bridge, "up"]);
    const clientKey = path.join(dir, "client_ed25519");
    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "wg-fabric-lab", "-f", clientKey]);
    const lab = new Lab(name, bridge, [], dir);
    try {
      for (const [index, hostName] of names.entries()) {
        lab.hosts.push(lab.startHost(hostName, index, subnet, clientKey, options.withoutWireguardTools?.includes(hostName) ?? false));
      }
      await Promise.all(lab.hosts.map((host) => waitForPort(host.ip, 22, 10_000)));
    } catch (error) {
      lab.stop();
      throw error;
    }
    return lab;
  }

  private startHost(hostName: string, index: number, subnet: number, clientKey: string, hideWireguardTools: boolean): LabHost {
    const netns = `${this.name}-${hostName}`.slice(0, 30);
    const veth = `${this.name}v${index}`;
    const ip = `198.18.${subnet}.${index + 1}`;
    const dir = path.join(this.dir, hostName);
    for (const sub of ["run/sshd", "run/network", "wireguard", "network/interfaces.d", "systemd", "root"]) mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 });
    // a private /etc/network, for ifupdown2 mode: the node's own interfaces only
    writeFileSync(path.join(dir, "network/interfaces"), "auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n");
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
    const pid = Lab.spawnSshd(netns, dir, hideWireguardTools);
    const hostKeyLine = readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    return {
      name: hostName,
      netns,
      ip,
      pid,
      dir,
      connection: { host: ip, port: 22, user: "root", privateKey: readFileSync(clientKey, "utf8"), hostKey: hostKeyLine },
    };
  }

  /** Starts a node's sshd in its namespaces (private mounts); returns sshd's PID, also kept in `dir/pid`. */
  private static spawnSshd(netns: string, dir: string, hideWireguardTools: boolean): number {
    // ip netns exec, unshare and sh all exec: the PID we get is sshd's own.
    const child = spawn(
      "ip",
      [
        "netns", "exec", netns,
        "unshare", "--mount", "--propagation", "private",
        "sh", "-c",
        'mount --bind "$1/run" /run && mount --bind "$1/wireguard" /etc/wireguard && mount --bind "$1/network" /etc/network && ' +
          'mount --bind "$1/systemd" /etc/systemd/system && mount --bind "$1/root" /root && ' +
          'if [ "$2" = hide ]; then for t in /usr/bin/wg /usr/bin/wg-quick; do mount --bind /dev/null "$t"; done; fi && ' +
          'exec /usr/sbin/sshd -D -E "$1/sshd.log" -f "$1/sshd_config"',
        "lab-node", dir, hideWireguardTools ? "hide" : "keep",
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
    const pid = Lab.spawnSshd(host.netns, host.dir, false);
    const line = readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    this.hosts[this.hosts.indexOf(host)] = { ...host, pid, connection: { ...host.connection, hostKey: line } };
    await waitForPort(host.ip, 22, 10_000);
    return line;
  }

  /** Starts a node's sshd again after {@link Lab.stopSshd}, same host key. */
  async startSshd(name: string): Promise<void> {
    const host = this.host(name);
    const pid = Lab.spawnSshd(host.netns, host.dir, false);
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
