/**
 * The demo: a 3-node lab, `pulumi up` of the RFC example against it, the outputs, and pings
 * across the tunnels. berserker, the RFC's external node, is a real lab host too: its key is
 * made on it and its side of the tunnel is set up outside Pulumi, as a peer we don't manage.
 *
 *   npm run demo              # start (or reuse) the lab and converge
 *   npm run demo -- --down    # pulumi destroy, then tear the lab down
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { connectionSchema, parseFabricOrThrow } from "../provider/model";
import { converge, RemoteNode, SessionPool } from "../provider/remote";
import { engineEnv } from "./engine-env";
import { Lab } from "./lab";

const LAB = "wgfd";
const WORK = path.resolve(__dirname, "../../.lab/demo");
const EXAMPLE = path.resolve(__dirname, "../examples/rfc/index.js");

function env(): Record<string, string> {
  return engineEnv(WORK, path.join(WORK, "home"), "demo-passphrase");
}

async function demoStack(): Promise<Stack> {
  mkdirSync(path.join(WORK, "state"), { recursive: true });
  const program = async () => {
    delete require.cache[EXAMPLE];
    return { ...(require(EXAMPLE) as Record<string, unknown>) };
  };
  return LocalWorkspace.createOrSelectStack(
    { projectName: "wg-fabric-rfc", stackName: "demo", program },
    { workDir: WORK, envVars: env(), projectSettings: { name: "wg-fabric-rfc", runtime: "nodejs", backend: { url: env().PULUMI_BACKEND_URL } }, secretsProvider: "passphrase" },
  );
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
  const berserkerKey = await pool.use("berserker", connectionSchema.parse(berserker.connection), (s) => new RemoteNode(s).ensureKey({ keyDir: "/etc/wireguard/proxmox", iface: "wg0", owner: "berserker/berserker/wg0" }));
  console.log(`  berserker public key ${berserkerKey}`);

  say("pulumi up (examples/rfc) against the lab");
  const stack = await demoStack();
  const hosts = Object.fromEntries(["elementalist", "occultist"].map((n) => [n, { host: lab.host(n).ip, hostKey: lab.host(n).connection.hostKey }]));
  await stack.setAllConfig({
    hosts: { value: JSON.stringify(hosts) },
    sshPrivateKey: { value: lab.host("elementalist").connection.privateKey, secret: true },
    berserker: { value: JSON.stringify({ endpoint: `${berserker.ip}:51337`, publicKey: berserkerKey }) },
  });
  const result = await stack.up({ onOutput: (out) => process.stdout.write(out) });
  const publicKeys = result.outputs.publicKeys!.value as Record<string, string>;

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

  say("stack outputs");
  console.log(execFileSync("pulumi", ["stack", "output", "--json", "--stack", "demo", "--cwd", WORK], { encoding: "utf8", env: { ...process.env, ...env() } }));

  say("pings across the tunnels (3 each)");
  for (const [from, to, what] of [
    ["occultist", "198.51.100.1", "occultist → elementalist over wg0"],
    ["elementalist", "198.51.100.2", "elementalist → occultist over wg0"],
    ["occultist", "203.0.113.1", "occultist → berserker (external) over wg0"],
  ] as const) {
    console.log(`  ${what.padEnd(45)} ${lab.ping(from, to, 3)}/3 received`);
  }
  console.log(`\nThe lab keeps running. Look around:  ip netns exec ${LAB}-occultist ping 198.51.100.1`);
  console.log("Tear it all down:                    npm run demo -- --down");
}

async function down(): Promise<void> {
  say("pulumi destroy");
  if (existsSync(path.join(WORK, "state"))) {
    try {
      const stack = await demoStack();
      await stack.destroy({ onOutput: (out) => process.stdout.write(out) });
    } catch (error) {
      console.log(`  (skipped: ${(error as Error).message.split("\n")[0]})`);
    }
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