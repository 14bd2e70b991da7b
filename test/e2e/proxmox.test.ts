import * as assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type { Stack, UpResult } from "@pulumi/pulumi/automation";
import * as wg from "pulumi-wireguard-fabric";
import { Lab } from "../../lab/lab";
import { type PublicKeys, renderProxmoxConfig, renderProxmoxModeStanza, resolveInterfaces } from "../../provider/fabric";
import { parseSectionConfig } from "../../provider/section-config";
import type { WgKey } from "../../provider/model";
import { MANAGED_PREFIX } from "../../provider/remote/contract";
import { KEYS } from "../unit/helpers";
import { inlineStack } from "./harness";

/**
 * A fabric as Proxmox VE ships the file (dual stack, fabric keepalive, an old port-less
 * endpoint, a peer's additive allowed_ips, an external peer that skips route generation, the
 * nodes' own addresses), converged by the engine in `proxmox` apply mode on lab nodes with the
 * Proxmox VE personality.
 */
describe("a Proxmox VE fabrics.cfg in proxmox apply mode, on the lab", function () {
  this.timeout(300_000);
  let lab: Lab;
  let stack: Stack;
  let workDir: string;
  const text = () =>
    [
      "wireguard_fabric: pve",
      "\tip_prefix 10.69.0.0/24",
      "\tpersistent_keepalive 15",
      "",
      "wireguard_node: pve_pve1",
      "\tip 10.69.0.1",
      "\trole internal",
      `\tendpoint ${lab.host("pve1").ip}:51820`,
      "\tallowed_ips 10.71.0.0/24",
      "\tinterfaces name=wg0,listen_port=51820,ip=10.70.0.1/24,ip6=fd00:70::1/64",
      "\tpeers type=internal,node=pve2,node_iface=wg0,iface=wg0",
      "\tpeers type=external,node=pdm,iface=wg0,allowed_ips=10.79.0.0/24,skip_route_generation=1",
      "",
      "wireguard_node: pve_pve2",
      "\tip 10.69.0.2",
      "\trole internal",
      `\tendpoint ${lab.host("pve2").ip}`,
      "\tinterfaces name=wg0,listen_port=51820,ip=10.70.0.2/24,ip6=fd00:70::2/64",
      "\tpeers type=internal,node=pve1,node_iface=wg0,iface=wg0,allowed_ips=10.72.0.0/24",
      "",
      "wireguard_node: pve_pdm",
      "\tip 10.69.0.9",
      "\trole external",
      "\tendpoint 198.18.12.99:51337",
      "\tallowed_ips 10.78.0.0/24",
      `\tpublic_key ${KEYS.berserker}`,
      "",
    ].join("\n");
  const program = async () => {
    const fabric = wg.Fabric.fromSectionConfig("pve", {
      text: text(),
      defaults: { connection: { user: "root", privateKey: pulumi.secret(lab.host("pve1").connection.privateKey) }, applyMode: "proxmox" },
      connections: Object.fromEntries(["pve1", "pve2"].map((name) => [name, { host: lab.host(name).ip, hostKey: lab.host(name).connection.hostKey }])),
    });
    return { publicKeys: fabric.publicKeys, sectionConfig: fabric.sectionConfig };
  };

  before(async () => {
    lab = await Lab.start(["pve1", "pve2"], { name: "wgfv", subnet: 12, proxmox: ["pve1", "pve2"] });
    ({ stack, workDir } = await inlineStack("wgfabric-proxmox", "dev", program));
  });
  after(async () => {
    if (stack) await stack.destroy().catch(() => undefined);
    lab?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("converges: pings over IPv4 and IPv6, Proxmox VE's two files on each node, routes as the stanza says, and a second up changes nothing", async () => {
    const up = await stack.up();
    assert.equal(up.summary.result, "succeeded");
    // with keepalive, the side applied first starts the handshake before the other side knows it:
    // WireGuard retries after REKEY_TIMEOUT (5 s), so the first answer may take that long
    assert.notEqual(await lab.pingUntilAnswer("pve1", "10.70.0.2", 12), undefined, "IPv4 through the tunnel");
    assert.ok(lab.ping("pve1", "10.70.0.2") >= 2, "IPv4 through the tunnel");
    assert.ok(lab.ping("pve2", "fd00:70::1", 5) >= 2, "IPv6 through the tunnel");
    assert.notEqual(await lab.pingUntilAnswer("pve1", "10.69.0.2", 12), undefined, "pve2's own address, on its dummy_pve link");
    assert.notEqual(await lab.pingUntilAnswer("pve2", "10.69.0.1", 12), undefined, "pve1's own address, on its dummy_pve link");

    // the files are what a Proxmox VE node writes for this fabric (with our marker line and its own
    // key), peers in name order as the resources list them (Proxmox VE keeps the file's order)
    const publicKeys = up.outputs.publicKeys!.value as Record<string, string>;
    const fabric = parseSectionConfig(text()).fabrics[0]!;
    const keys: PublicKeys = new Map(Object.entries(publicKeys).map(([id, key]) => [id, key as WgKey]));
    for (const resolved of resolveInterfaces(fabric)) {
      const view = { ...resolved, peers: [...resolved.peers].sort((a, b) => a.label.localeCompare(b.label)) };
      const conf = lab.readNodeFile(view.node, "/etc/wireguard/wg-fabric/wg0.conf");
      const privateKey = lab.readNodeFile(view.node, "/etc/wireguard/wg-fabric/wg0.key").trim();
      assert.equal(conf.replace(/^# .*\n/, ""), renderProxmoxConfig(view, { publicKeys: keys, privateKey }), `${view.id} conf`);
      const stanzaFile = "/etc/network/interfaces.d/wg-fabric-wg0";
      assert.equal(lab.readNodeFile(view.node, stanzaFile).replace(/^# .*\n/, ""), renderProxmoxModeStanza(view), `${view.id} stanza`);
      // Debian's ifupdown2 reads the stanza the node holds
      const parsed = JSON.parse(lab.nodeExec(view.node, "ifquery", ["-i", stanzaFile, "-o", "json", "wg0"])) as { addr_family: string; config: Record<string, unknown> }[];
      assert.deepEqual(parsed.map((block) => [block.addr_family, block.config.address, block.config["link-type"]]), [["inet", view.addresses[0]!.toString(), "wireguard"], ["inet6", view.addresses[1]!.toString(), undefined]]);
    }
    const routes = (node: string) => [4, 6].flatMap((family) => lab.exec(node, "ip", [`-${family}`, "route", "show", "dev", "wg0", "proto", "boot"]).split("\n").map((line) => line.split(" ")[0]).filter(Boolean)).sort();
    // pve1: pve2's host routes (its own address first); pdm skips route generation, so nothing of its
    assert.deepEqual(routes("pve1"), ["10.69.0.2", "10.70.0.2", "fd00:70::2"]);
    // pve2: pve1's host routes, its allowed_ips, and the peer's additive allowed_ips
    assert.deepEqual(routes("pve2"), ["10.69.0.1", "10.70.0.1", "10.71.0.0/24", "10.72.0.0/24", "fd00:70::1"]);
    const dump = lab.nodeExec("pve1", "wg", ["show", "wg0", "dump"]);
    assert.match(dump, new RegExp(`${KEYS.berserker.replace(/[+/]/g, "\\$&")}\\t\\(none\\)\\t198\\.18\\.12\\.99:51337\\t10\\.78\\.0\\.0/24,10\\.79\\.0\\.0/24\\t\\d+\\t\\d+\\t\\d+\\t15$`, "m"), "the fabric keepalive, the node's and the peer's allowed IPs");

    // what the stack writes back is Proxmox VE's dialect, with the generated keys
    const written = up.outputs.sectionConfig!.value as string;
    const back = parseSectionConfig(written);
    assert.equal(back.dialect, "proxmox");
    assert.match(written, /^wireguard_fabric: pve\n\tpersistent_keepalive 15\n/);
    // as every Proxmox VE release reads it: internal endpoints as a host, a peer's extra networks on the node it points at
    assert.match(written, new RegExp(`wireguard_node: pve_pve1\\n\\tendpoint ${lab.host("pve1").ip.replace(/\./g, "\\.")}\\n`), "the port is the listen port: left out");
    assert.match(written, new RegExp(`wireguard_node: pve_pve2\\n\\tendpoint ${lab.host("pve2").ip.replace(/\./g, "\\.")}\\n`));
    assert.match(written, /\tallowed_ips 10\.71\.0\.0\/24\n\tallowed_ips 10\.72\.0\.0\/24\n/, "pve2's peer's extra network on pve1");
    assert.match(written, /\tallowed_ips 10\.78\.0\.0\/24\n\tallowed_ips 10\.79\.0\.0\/24\n/, "pve1's peer's extra network on pdm");
    assert.ok(written.includes(`interfaces name=wg0,listen_port=51820,public_key=${publicKeys["pve1/wg0"]},ip=10.70.0.1/24,ip6=fd00:70::1/64`));
    assert.ok(written.includes("peers type=external,node=pdm,iface=wg0,skip_route_generation=1\n"));

    const again = await stack.up();
    assert.deepEqual(again.summary.resourceChanges, { same: 10 });
  });
});

/**
 * A fabric Proxmox VE's SDN runs (on lab nodes with the Proxmox VE personality: its keys in
 * /etc/pve/priv/wg-keys.cfg, its files written and its interface brought up by its own network
 * apply) moved to this package: refused without `adopt`, taken over with it while a ping crosses
 * the tunnel, then removed from Proxmox VE's SDN and its network applied, and the nodes rebooted.
 */
describe("an interface Proxmox VE's SDN set up, moved to this package to the end", function () {
  this.timeout(300_000);
  let lab: Lab;
  let stack: Stack;
  let workDir: string;
  let adopt = false;
  const nodes = ["pa", "pb"];
  const text = (publicKeys?: Record<string, string>) =>
    [
      "wireguard_fabric: moved",
      "",
      ...nodes.flatMap((node, i) => [
        `wireguard_node: moved_${node}`,
        "\trole internal",
        `\tendpoint ${lab.host(node).ip}:51820`,
        `\tinterfaces name=wg0,listen_port=51820,${publicKeys ? `public_key=${publicKeys[node]},` : ""}ip=10.73.0.${i + 1}/24,ip6=fd00:73::${i + 1}/64`,
        `\tpeers type=internal,node=${nodes[1 - i]},node_iface=wg0,iface=wg0`,
        "",
      ]),
    ].join("\n");
  const program = async () => {
    const fabric = wg.Fabric.fromSectionConfig("moved", {
      text: text(),
      adopt,
      defaults: { connection: { user: "root", privateKey: pulumi.secret(lab.host("pa").connection.privateKey) }, applyMode: "proxmox" },
      connections: Object.fromEntries(nodes.map((name) => [name, { host: lab.host(name).ip, hostKey: lab.host(name).connection.hostKey }])),
    });
    return { publicKeys: fabric.publicKeys };
  };
  const onNode = (node: string, script: string) => lab.nodeExec(node, "sh", ["-c", script]);
  const livePublicKey = (node: string) => onNode(node, "wg show wg0 public-key").trim();
  /**
   * Pings pa -> pb through the tunnel while `work` runs; resolves to ping's summary, and with a
   * packet lost, to what was seen around it: the late replies and both nodes' netlink events.
   */
  const underPing = async (work: () => Promise<unknown> | unknown): Promise<string> => {
    const stops = nodes.map((node) => lab.monitor(node));
    const pings = lab.pingInBackground("pa", "10.73.0.2", 150, 0.05, true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await work();
    const trace = await pings;
    const events = await Promise.all(stops.map((stop) => stop()));
    const summary = /\d+ packets transmitted.*/.exec(trace)?.[0] ?? trace;
    if (/(\d+) packets transmitted, \1 received/.test(summary)) return summary;
    const late = trace.split("\n").filter((line) => line.includes("no answer yet"));
    return [summary, ...late, ...nodes.flatMap((node, i) => [`${node}'s netlink events:`, events[i] || "(none)"])].join("\n");
  };

  before(async () => {
    lab = await Lab.start(nodes, { name: "wgfa", subnet: 13, proxmox: nodes });
    // Proxmox VE's SDN: a key per interface in its cluster's key file, the fabric in fabrics.cfg, its network applied
    lab.pveFabrics(text(Object.fromEntries(nodes.map((node) => [node, lab.pveKey(node, "wg0")]))));
    for (const node of nodes) await lab.pveNetworkApply(node);
    assert.notEqual(await lab.pingUntilAnswer("pa", "10.73.0.2", 12), undefined, "Proxmox VE's tunnel works");
    ({ stack, workDir } = await inlineStack("wgfabric-moved", "dev", program));
  });
  after(async () => {
    if (stack) await stack.destroy().catch(() => undefined);
    lab?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("without adopt: refused before any change, naming Proxmox VE's file and adopt; the running tunnel untouched", async () => {
    await assert.rejects(stack.up(), /\/etc\/pve\/sdn\/fabrics\.cfg:6: Proxmox VE's fabric moved has interface wg0 on this node \(pa\); name ours differently, or set adopt: true on the node to take it over/);
    assert.equal(existsSync(lab.nodePath("pa", "/etc/wireguard/wg-fabric/wg0.key")), false, "no key made");
    assert.ok(lab.ping("pa", "10.73.0.2", 3) >= 2);
  });

  it("with adopt: the same keys, our files beside Proxmox VE's, and not one ping lost while it happens", async () => {
    const keys = Object.fromEntries(nodes.map((node) => [node, livePublicKey(node)]));
    const proxmoxConfigs = nodes.map((node) => lab.readNodeFile(node, "/etc/wireguard/proxmox/wg0.conf"));
    adopt = true;
    let up: UpResult | undefined;
    const summary = await underPing(async () => (up = await stack.up()));
    assert.match(summary, /(\d+) packets transmitted, \1 received/, `no packet lost: ${summary}`);
    assert.equal(up?.summary.result, "succeeded");
    for (const node of nodes) {
      assert.equal(livePublicKey(node), keys[node], `${node} runs Proxmox VE's key still`);
      assert.equal((up?.outputs.publicKeys!.value as Record<string, string>)[`${node}/wg0`], keys[node]);
      assert.equal(onNode(node, "wg pubkey < /etc/wireguard/wg-fabric/wg0.key").trim(), keys[node], "taken from its config into our key file, on the node");
      assert.equal(lab.readNodeFile(node, "/etc/wireguard/wg-fabric/wg0.owner"), `moved/${node}/wg0\nadopted\n`, "left in place if this fabric is destroyed");
      assert.ok(lab.readNodeFile(node, "/etc/wireguard/wg-fabric/wg0.conf").startsWith(`${MANAGED_PREFIX} for moved/${node}/wg0:`), `${node}'s config is ours now`);
    }
    assert.deepEqual(nodes.map((node) => lab.readNodeFile(node, "/etc/wireguard/proxmox/wg0.conf")), proxmoxConfigs, "Proxmox VE's own files are left to it");
    assert.ok(lab.ping("pb", "fd00:73::1", 3) >= 2, "IPv6 as well");
    assert.deepEqual((await stack.up()).summary.resourceChanges, { same: 8 });
  });

  it("the move ends: the fabric removed from Proxmox VE's SDN and its network applied loses no ping, and a reboot brings the tunnel back from our files", async () => {
    lab.pveFabrics("");
    const summary = await underPing(async () => {
      for (const node of nodes) await lab.pveNetworkApply(node);
    });
    console.log(`      Proxmox VE's network apply after the fabric left its SDN: ${summary.split("\n")[0]}`);
    // Proxmox VE's ifreload -a, its stanza gone and ours left, may take wg0 down and up (seen 1 run
    // in 20 under load): the kernel drops the link's routes and IPv6 addresses until ifup puts them
    // back, about 20 ms later. That is Proxmox VE's apply, not ours: said, and bounded; any other loss fails.
    const [, sent, received] = /(\d+) packets transmitted, (\d+) received/.exec(summary) ?? [];
    const downUp = /wg0: <[^>]*> mtu \d+ .*state DOWN/.test(summary);
    if (sent !== received && downUp) console.log(`      ${Number(sent) - Number(received)} lost while Proxmox VE's ifreload took wg0 down and up:\n${summary}`);
    else assert.match(summary, /(\d+) packets transmitted, \1 received/, `no packet lost: ${summary}`);
    assert.ok(Number(sent) - Number(received) <= 2, `at most the pings of a link down and up: ${summary}`);
    for (const node of nodes) {
      assert.equal(existsSync(lab.nodePath(node, "/etc/wireguard/proxmox/wg0.conf")), false, "Proxmox VE deleted its config");
      assert.equal(lab.readNodeFile(node, "/etc/network/interfaces.d/sdn"), "", "and its stanza");
      assert.ok(existsSync(lab.nodePath(node, "/etc/wireguard/wg-fabric/wg0.conf")), "ours stay");
    }
    // what refresh finds after Proxmox VE's apply is printed: one run of the whole suite found one
    // update here (not reproduced since), the model and Proxmox VE node tests find none
    await stack.refresh();
    const drift = ((await stack.exportStack()).deployment.resources as { urn: string; outputs?: { drift?: string[] } }[]).flatMap((r) => (r.outputs?.drift ?? []).map((d) => `${r.urn.split("::").pop()}: ${d}`));
    if (drift.length > 0) console.log(`      after Proxmox VE's apply, refresh found: ${drift.join("; ")}`);
    await stack.up();
    assert.deepEqual((await stack.up()).summary.resourceChanges, { same: 8 }, "converged");
    for (const node of nodes) await lab.reboot(node);
    if ((await lab.pingUntilAnswer("pa", "10.73.0.2", 12)) === undefined) assert.fail(`the tunnel is not back 12 s after the reboot:\n${nodes.map((node) => lab.tunnelState(node, "wg0")).join("\n")}`);
    assert.ok(lab.ping("pb", "fd00:73::1", 3) >= 2, "IPv6 as well");
    for (const node of nodes) assert.equal(livePublicKey(node), (await stack.outputs()).publicKeys!.value[`${node}/wg0`], `${node} keeps its key`);
    assert.deepEqual((await stack.up({ refresh: true })).summary.resourceChanges, { same: 8 }, "the boot made exactly what is declared");
  });
});
