/**
 * The demo: a 3-node lab, `pulumi up` of the RFC example against it, the outputs, pings
 * across the tunnels and `wg-fabric status`. It runs the `pulumi` CLI in the repository's root
 * project (Pulumi.yaml: the compiled examples/rfc), as the README tells users. berserker, the
 * RFC's external node, is a real lab host too: its key is made on it and its side of the tunnel
 * is set up outside Pulumi, as a peer we don't manage.
 *
 *   npm run demo              # start (or reuse) the lab and converge
 *   npm run demo -- --down    # pulumi destroy, then tear the lab down
 */
import { existsSync, rmSync } from "node:fs";
import * as path from "node:path";
import { connectionSchema, parseFabricOrThrow } from "../provider/model";
import { RemoteNode, SessionPool } from "../provider/remote";
import { converge } from "./converge";
import { engineEnv } from "./engine-env";
import { Lab } from "./lab";
import { ProjectFolder } from "./project-folder";

const LAB = "wgfd";
const WORK = path.resolve(__dirname, "../../.lab/demo");
const STACK = "demo";

/** The repository's root project, with the demo's own state backend. */
function project(): ProjectFolder {
  return new ProjectFolder(path.resolve(__dirname, "../.."), engineEnv(WORK, path.join(WORK, "home"), "demo-passphrase"));
}

/** `pulumi ARGS` in the root project, its output shown as it comes. */
function pulumi(folder: ProjectFolder, args: string[]): void {
  const result = folder.run(["--stack", STACK, ...args, "--color", "always"], undefined, "inherit");
  if (result.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed`);
}

function say(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}

async function up(): Promise<void> {
  // a demo run before: destroy its stack first, so the new lab's nodes start empty
  if (existsSync(WORK)) await down();
  say("starting the lab: elementalist, occultist, berserker (network namespaces, sshd, wireguard-go)");
  const lab = await Lab.start(["elementalist", "occultist", "berserker"], { name: LAB, subnet: 3 });
  for (const host of lab.hosts) console.log(`  ${host.name.padEnd(13)} ${host.ip}  sshd pid ${host.pid}`);

  say("berserker (external, not managed by the fabric) makes its own key");
  const pool = new SessionPool();
  const berserker = lab.host("berserker");
  const berserkerKey = await pool.use("berserker", connectionSchema.parse(berserker.connection), (s) => new RemoteNode(s).ensureKey({ keyDir: "/etc/wireguard/wg-fabric", iface: "wg0", owner: "berserker/berserker/wg0" }));
  console.log(`  berserker public key ${berserkerKey}`);

  say("pulumi stack init demo; pulumi config set … (in the root project: examples/rfc)");
  const folder = project();
  folder.initStack(STACK);
  const hosts = Object.fromEntries(["elementalist", "occultist"].map((n) => [n, { host: lab.host(n).ip, hostKey: lab.host(n).connection.hostKey }]));
  folder.setConfig(STACK, { hosts, berserker: { endpoint: `${berserker.ip}:51337`, publicKey: berserkerKey } }, { sshPrivateKey: lab.host("elementalist").connection.privateKey });
  say("pulumi up --yes");
  pulumi(folder, ["up", "--yes"]);
  const publicKeys = folder.outputs(STACK).publicKeys as Record<string, string>;

  say("berserker's side of its tunnel to occultist, set up outside Pulumi");
  await converge(
    parseFabricOrThrow({
      name: "berserker",
      nodes: {
        berserker: {
          role: "internal",
          interfaces: { wg0: { listenPort: 51337, ip: "203.0.113.1/25" } },
          peers: [{ type: "external", node: "occultist", iface: "wg0" }],
        },
        occultist: { role: "external", endpoint: `${lab.host("occultist").ip}:50000`, allowedIps: ["198.51.100.2/32"], publicKey: publicKeys["occultist/wg0"]! },
      },
    }),
    { berserker: connectionSchema.parse(berserker.connection) },
    pool,
  );
  await pool.closeAll();

  say("pulumi stack output --json");
  console.log(folder.pulumi(["stack", "output", "--json", "--stack", STACK]));

  say("pings across the tunnels (3 each)");
  for (const [from, to, what] of [
    ["occultist", "198.51.100.1", "occultist → elementalist over wg0"],
    ["elementalist", "198.51.100.2", "elementalist → occultist over wg0"],
    ["occultist", "203.0.113.1", "occultist → berserker (external) over wg0"],
  ] as const) {
    console.log(`  ${what.padEnd(45)} ${lab.ping(from, to, 3)}/3 received`);
  }
  say("wg-fabric status (refreshes the stack: handshakes, traffic, drift)");
  const status = folder.wgFabric(["status", "--stack", STACK]);
  console.log(status.stdout.trimEnd());
  console.log(`  (exit code ${status.status})`);

  console.log(`\nThe lab keeps running. Look around:  ip netns exec ${LAB}-occultist ping 198.51.100.1`);
  console.log("Tear it all down:                    npm run demo -- --down");
  // last, the picture (setup installs Graphviz's dot, which draws the SVG)
  const picture = path.join(WORK, "fabric.svg");
  const drawn = folder.wgFabric(["graph", "--stack", STACK, "--no-refresh", "--format", "svg", "--out", picture]);
  if (drawn.status !== 0) throw new Error(`wg-fabric graph drew no picture: ${drawn.stderr.trim()}`);
  console.log(`The fabric as a picture:             ${picture}`);
}

async function down(): Promise<void> {
  say("pulumi destroy --yes; pulumi stack rm");
  if (existsSync(path.join(WORK, "state"))) {
    const folder = project();
    try {
      pulumi(folder, ["destroy", "--yes"]);
      folder.pulumi(["stack", "rm", "--yes", STACK]);
    } catch (error) {
      console.log(`  (skipped: ${(error as Error).message.split("\n")[0]})`);
    }
    folder.removeOnCleanup(path.resolve(__dirname, `../../Pulumi.${STACK}.yaml`));
    folder.cleanup();
  }
  say("tearing the lab down");
  Lab.cleanup(LAB);
  rmSync(WORK, { recursive: true, force: true });
  console.log("  done: no namespace, link, process or state of the demo is left");
}

void (process.argv.includes("--down") ? down() : up()).catch((error: Error) => {
  console.error(`demo failed: ${error.message}`);
  process.exitCode = 1;
});