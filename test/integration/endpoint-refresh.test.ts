import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { endpointRefreshScript } from "../../provider/remote";
import { Lab } from "../../lab/lab";

/**
 * The follower of endpoint names (endpoint-refresh.sh) on a real node, its rules one by one:
 * node `fa` runs wireguard-go with a real peer `fb` (reached by name) and two peers that never
 * answer, one reached by name and one by address. The script is installed as apply installs it
 * and run as the interface's files run it; what it decides is read back from `wg show`.
 */
describe("endpoint-refresh.sh on a node: which endpoints it sets", function () {
  this.timeout(120_000);
  const SUBNET = 27;
  const at = (host: number) => `198.18.${SUBNET}.${host}`;
  const SCRIPT = "/etc/wireguard/wg0.endpoint-refresh.sh";
  const CONFIG = "/etc/wireguard/wg0.conf";
  let lab: Lab;
  const keys: Record<string, string> = {};
  const sh = (node: string, command: string) => lab.nodeExec(node, "sh", ["-c", command]);
  /** Where fa's WireGuard sends to each peer now, by peer name. */
  const endpoints = (): Record<string, string> => {
    const byKey = new Map(sh("fa", "wg show wg0 endpoints").trim().split("\n").map((line) => line.split("\t") as [string, string]));
    return Object.fromEntries(Object.entries(keys).filter(([name]) => name !== "fa").map(([name, key]) => [name, byKey.get(key) ?? ""]));
  };
  /** Waits a few of the follower's looks (it looks every second). */
  const looks = () => new Promise((resolve) => setTimeout(resolve, 3_500));

  before(async () => {
    lab = await Lab.start(["fa", "fb"], { name: "wgfo", subnet: SUBNET });
    for (const [node, i] of [["fa", 1], ["fb", 2]] as const) {
      sh(node, `wg genkey > /run/wg0.key && WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go wg0 && wg set wg0 private-key /run/wg0.key listen-port 51820 && ip address add 10.79.0.${i}/24 dev wg0 && ip link set wg0 up`);
      keys[node] = sh(node, "wg show wg0 public-key").trim();
    }
    keys.silentByName = sh("fa", "wg genkey | wg pubkey").trim();
    keys.silentByAddress = sh("fa", "wg genkey | wg pubkey").trim();
    lab.setHostName("fa", "fb-wan.lab.test", at(2));
    lab.setHostName("fa", "silent.lab.test", at(200));
    // fa's config, as the follower reads it: fb and one silent peer by name, the other by address
    const peer = (key: string, endpoint: string, allowed: string) => `[Peer]\nPublicKey = ${key}\nEndpoint = ${endpoint}\nAllowedIPs = ${allowed}\n`;
    writeFileSync(
      lab.nodePath("fa", CONFIG),
      ["[Interface]\nListenPort = 51820\n", peer(keys.fb as string, "fb-wan.lab.test:51820", "10.79.0.2/32"), peer(keys.silentByName as string, "silent.lab.test:51820", "10.79.0.20/32"), peer(keys.silentByAddress as string, `${at(202)}:51820`, "10.79.0.30/32")].join("\n"),
    );
    writeFileSync(lab.nodePath("fa", SCRIPT), endpointRefreshScript(), { mode: 0o600 });
    // what runs now differs from the config for both silent peers
    sh("fa", `wg set wg0 peer ${keys.fb} endpoint ${at(2)}:51820 allowed-ips 10.79.0.2/32 peer ${keys.silentByName} endpoint ${at(201)}:51820 allowed-ips 10.79.0.20/32 peer ${keys.silentByAddress} endpoint ${at(203)}:51820 allowed-ips 10.79.0.30/32`);
    sh("fb", `wg set wg0 peer ${keys.fa} allowed-ips 10.79.0.1/32`);
    assert.notEqual(await lab.pingUntilAnswer("fa", "10.79.0.2", 10), undefined, "fa -> fb: a handshake");
    sh("fa", `sh ${SCRIPT} start wg0 1 ${CONFIG}`);
  });
  after(() => lab?.stop());

  it("runs detached, and says with what", () => {
    assert.equal(sh("fa", `sh ${SCRIPT} status wg0`), `1\t${CONFIG}\n`);
    assert.equal(lab.processes("fa", `${SCRIPT} loop wg0`).length, 1);
  });

  it("a name whose peer never answered is set to where it resolves; an address is never touched", async () => {
    await looks();
    assert.deepEqual(endpoints(), { fb: `${at(2)}:51820`, silentByName: `${at(200)}:51820`, silentByAddress: `${at(203)}:51820` });
  });

  it("a name that moved is followed at once, though its peer's handshake is fresh", async () => {
    lab.underlayAddress("fb", "add", at(151));
    lab.setHostName("fa", "fb-wan.lab.test", at(151));
    lab.setHostName("fa", "silent.lab.test", at(210));
    await looks();
    assert.deepEqual(endpoints(), { fb: `${at(151)}:51820`, silentByName: `${at(210)}:51820`, silentByAddress: `${at(203)}:51820` });
    assert.notEqual(await lab.pingUntilAnswer("fa", "10.79.0.2", 10), undefined, "the tunnel passes traffic at the new address");
  });

  it("a peer that roamed keeps where it roamed to while its handshake is fresh", async () => {
    // fb's packets come from another port now (a NAT in front of it rebinds): fa's WireGuard
    // learns it from them, while the name still gives the old address and port
    sh("fb", "wg set wg0 listen-port 51821");
    assert.notEqual(await lab.pingUntilAnswer("fb", "10.79.0.1", 10), undefined, "fb -> fa");
    const roamed = endpoints().fb;
    assert.match(roamed ?? "", /:51821$/, "fa's WireGuard roamed to where fb's packets come from");
    await looks();
    assert.equal(endpoints().fb, roamed, "the follower left the roamed endpoint alone, not the name's");
  });

  it("stop ends the loop, its sleep with it, and status then says nothing", () => {
    sh("fa", `sh ${SCRIPT} stop wg0`);
    assert.deepEqual(lab.processes("fa", `${SCRIPT} loop wg0`), []);
    assert.deepEqual(lab.processes("fa", "sleep 1"), [], "its sleep went with it");
    assert.equal(sh("fa", `sh ${SCRIPT} status wg0`), "");
  });
});
