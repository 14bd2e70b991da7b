import * as assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { Lab } from "../../lab/lab";
import { connectionSchema, parseFabricOrThrow, type ApplyMode, type Connection, type FabricInput } from "../../provider/model";
import { lostPackets } from "./live-state";
import { ProviderDriver } from "./provider-driver";

const NODES = ["pa", "pb", "pc"] as const;
/** One node per apply mode that writes files Proxmox VE's apply could touch. */
const MODES: Record<(typeof NODES)[number], ApplyMode> = { pa: "wg-quick", pb: "ifupdown2", pc: "proxmox" };

/**
 * Proxmox VE nodes (the lab's Proxmox VE personality) running our fabric, one node per apply
 * mode, beside a WireGuard fabric of Proxmox VE's own SDN: Proxmox VE's network apply (GUI
 * "Apply Configuration", every SDN apply) and reboots must leave both working, and neither
 * fabric touches the other's files.
 */
describe("on Proxmox VE nodes: our fabric beside Proxmox VE's own, through its network apply and reboots", function () {
  this.timeout(300_000);
  let lab: Lab;
  let driver: ProviderDriver;
  let connections: Record<string, Connection>;
  // each node's own address (Proxmox VE's router address) in 10.80.0.0/24, on its dummy_ours link
  const nodeAddress = (i: number) => `10.80.0.${i + 1}`;
  const ours = (addresses: (i: number) => string | undefined = nodeAddress): FabricInput => ({
    name: "ours",
    ...(addresses(0) ? { ipPrefix: "10.80.0.0/24" } : {}),
    nodes: Object.fromEntries(
      NODES.map((node, i) => [
        node,
        {
          role: "internal" as const,
          ...(addresses(i) ? { ip: addresses(i) } : {}),
          endpoint: lab.host(node).ip,
          applyMode: MODES[node],
          allowedIps: [`10.${83 + i}.0.0/24`],
          interfaces: { wg0: { listenPort: 51820, ip: `10.81.0.${i + 1}/24` } },
          peers: NODES.filter((other) => other !== node).map((other) => ({ type: "internal" as const, node: other, nodeIface: "wg0", iface: "wg0", persistentKeepalive: 5 })),
        },
      ]),
    ),
  });
  // Proxmox VE's own fabric: wg9 on every node, its keys in /etc/pve/priv/wg-keys.cfg
  const pveFabric = (keys: Record<string, string>) =>
    [
      "wireguard_fabric: pvefab",
      "\tpersistent_keepalive 5",
      "",
      ...NODES.flatMap((node, i) => [
        `wireguard_node: pvefab_${node}`,
        "\trole internal",
        `\tendpoint ${lab.host(node).ip}`,
        `\tinterfaces name=wg9,listen_port=51900,public_key=${keys[node]},ip=10.82.0.${i + 1}/24`,
        ...NODES.filter((other) => other !== node).map((other) => `\tpeers type=internal,node=${other},node_iface=wg9,iface=wg9`),
        "",
      ]),
    ].join("\n");
  const proxmoxFiles = (node: string) =>
    ["/etc/network/interfaces.d/sdn", "/etc/wireguard/proxmox/wg9.conf", "/etc/pve/priv/wg-keys.cfg"].map((file) => readFileSync(lab.nodePath(node, file), "utf8"));
  /** What the two ends run, for a ping that gets no answer: a flake seen once in nine runs needs it. */
  const ends = (from: string, to: string) =>
    [from, to].map((node) => `${node}:\n${lab.nodeExec(node, "sh", ["-c", "wg show all endpoints; wg show all allowed-ips; wg show all latest-handshakes; ip -br address; ip route"])}`).join("\n");
  const pingsAll = async (address: (i: number) => string) => {
    for (const [i, node] of NODES.entries()) {
      const other = (i + 1) % NODES.length;
      if ((await lab.pingUntilAnswer(node, address(other), 12)) === undefined) assert.fail(`${node} -> ${address(other)}: no answer in 12 s\n${ends(node, NODES[other] as string)}`);
    }
  };
  /** Every node reaches every other node's own address from its own address, across the fabric. */
  const nodeAddressesAnswer = async () => {
    // says what it sees first: about 1 run in 8 a node's dummy_ours comes up without its address (closing note of issue 30)
    for (const [i, node] of NODES.entries()) {
      assert.match(addressLink(node), new RegExp(` ${nodeAddress(i).replace(/\./g, "\\.")}/32`), `${node} (${MODES[node]} mode): dummy_ours holds no ${nodeAddress(i)}: ${addressLink(node)}`);
    }
    await pingsAll(nodeAddress);
    for (const [i, node] of NODES.entries()) {
      for (const [j] of NODES.entries()) {
        if (i !== j) lab.nodeExec(node, "ping", ["-n", "-q", "-c", "1", "-W", "2", "-I", nodeAddress(i), nodeAddress(j)]);
      }
    }
  };
  const addressLink = (node: string) => lab.nodeExec(node, "sh", ["-c", "ip -br -4 address show dev dummy_ours 2>&1 || true"]).trim();

  before(async () => {
    lab = await Lab.start([...NODES], { name: "wgfp", subnet: 14, proxmox: [...NODES] });
    connections = Object.fromEntries(lab.hosts.map((h) => [h.name, connectionSchema.parse(h.connection)]));
    driver = new ProviderDriver(connections);
    lab.pveFabrics(pveFabric(Object.fromEntries(NODES.map((node) => [node, lab.pveKey(node, "wg9")]))));
    for (const node of NODES) await lab.pveNetworkApply(node);
    await pingsAll((i) => `10.82.0.${i + 1}`);
  });
  after(async () => {
    await driver?.destroy().catch(() => undefined);
    lab?.stop();
  });

  it("our converge writes only in folders of ours and leaves Proxmox VE's fabric as it was", async () => {
    const before = NODES.map(proxmoxFiles);
    await driver.converge(parseFabricOrThrow(ours()));
    await pingsAll((i) => `10.81.0.${i + 1}`);
    await nodeAddressesAnswer();
    for (const [i, node] of NODES.entries()) {
      assert.match(addressLink(node), new RegExp(`^dummy_ours +(UP|UNKNOWN) +${nodeAddress(i).replace(/\./g, "\\.")}/32 *$`), `${node} (${MODES[node]} mode): its own address on dummy_ours: ${addressLink(node)}`);
      // Proxmox VE's stanza for it (proxmox-perl-rs, get_interfaces_etc_network_config), after our marker
      assert.equal(
        readFileSync(lab.nodePath(node, "/etc/network/interfaces.d/wg-fabric-dummy_ours"), "utf8").split("\n").slice(1).join("\n"),
        `auto dummy_ours\niface dummy_ours inet static\n\taddress ${nodeAddress(i)}/32\n\tlink-type dummy\n\tip-forward 1\n`,
      );
    }
    assert.deepEqual(NODES.map(proxmoxFiles), before, "Proxmox VE's stanzas, config and keys untouched");
    for (const node of NODES) {
      assert.ok(existsSync(lab.nodePath(node, "/etc/wireguard/wg-fabric/wg0.key")), `${node}: our key in our folder`);
      assert.deepEqual(lab.nodeExec(node, "ls", ["/etc/wireguard/proxmox"]).split("\n").filter(Boolean), ["wg9.conf"], `${node}: nothing of ours in Proxmox VE's folder`);
    }
    assert.ok(existsSync(lab.nodePath("pb", "/etc/wireguard/wg-fabric/wg0.conf")), "ifupdown2 mode: the config beside the key");
    assert.ok(existsSync(lab.nodePath("pc", "/etc/wireguard/wg-fabric/wg0.conf")), "proxmox mode: the config beside the key");
    await pingsAll((i) => `10.82.0.${i + 1}`);
  });

  it("Proxmox VE's network apply on every node: our files stay, both fabrics carry pings, ours loses none, and the next refresh finds nothing", async () => {
    const files = () => NODES.map((node) => lab.nodeExec(node, "sh", ["-c", "cat /etc/wireguard/wg-fabric/* /etc/network/interfaces.d/wg-fabric-* /etc/wireguard/wg0.conf 2>/dev/null | sha256sum"]));
    const before = files();
    let lost = 0;
    let sent = 0;
    for (const node of NODES) {
      // a bounded ping through one of our tunnels that does not start on the node being applied
      const from = NODES[(NODES.indexOf(node) + 1) % NODES.length] as string;
      const pinging = lab.pingInBackground(from, `10.81.0.${NODES.indexOf(node) + 1}`, 40, 0.05);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await lab.pveNetworkApply(node);
      const summary = await pinging;
      lost += lostPackets(summary);
      sent += Number(/(\d+) packets transmitted/.exec(summary)?.[1] ?? 0);
    }
    console.log(`      Proxmox VE's network apply (ifreload -a) on 3 nodes: ${lost} of ${sent} pings through our tunnels lost`);
    assert.equal(lost, 0, "no ping through our tunnels lost while Proxmox VE applies");
    assert.deepEqual(files(), before, "our keys, configs and stanzas as they were");
    await pingsAll((i) => `10.81.0.${i + 1}`);
    await pingsAll((i) => `10.82.0.${i + 1}`);
    await nodeAddressesAnswer();
    const run = await driver.converge(parseFabricOrThrow(ours()));
    assert.deepEqual({ drift: run.drift, updated: run.updated }, { drift: {}, updated: [] }, "nothing for the next up to do");
  });

  it("network apply after network apply, under a ping every 2 ms: a stanza link that runs its key is left as it is, and drops nothing", async () => {
    // `wg syncconf` sets every peer's AllowedIPs anew (wireguard-tools, src/config.c: a config's
    // peer replaces its AllowedIPs), and a packet that arrives in between is dropped: about 1 run
    // in 20 of the test above lost a ping that way
    for (const node of ["pb", "pc"] as const) {
      const from = NODES[(NODES.indexOf(node) + 1) % NODES.length] as string;
      let done = false;
      const pinging = lab.pingInBackground(from, `10.81.0.${NODES.indexOf(node) + 1}`, 3000, 0.002).finally(() => (done = true));
      let applies = 0;
      while (!done) {
        await lab.pveNetworkApply(node);
        applies++;
      }
      const summary = await pinging;
      console.log(`      ${node} (${MODES[node]} mode): ${applies} network applies, ${lostPackets(summary)} of 3000 pings lost`);
      assert.ok(applies >= 10, `${node}: only ${applies} network applies in the ping's time`);
      assert.equal(lostPackets(summary), 0, `${node} (${MODES[node]} mode): pings from ${from} lost while Proxmox VE applies its network ${applies} times:\n${summary}`);
    }
    const run = await driver.converge(parseFabricOrThrow(ours()));
    assert.deepEqual({ drift: run.drift, updated: run.updated }, { drift: {}, updated: [] }, "nothing for the next up to do");
  });

  it("a reboot of every node brings both fabrics back from their files alone", async () => {
    for (const node of NODES) await lab.reboot(node);
    for (const node of NODES) {
      const links = lab.nodeExec(node, "ip", ["-br", "link"]);
      assert.match(links, /^wg0 /m, `${node}: our wg0 back (${MODES[node]} mode)`);
      assert.match(links, /^wg9 /m, `${node}: Proxmox VE's wg9 back`);
    }
    await pingsAll((i) => `10.81.0.${i + 1}`);
    await pingsAll((i) => `10.82.0.${i + 1}`);
    await nodeAddressesAnswer();
    const run = await driver.converge(parseFabricOrThrow(ours()));
    assert.deepEqual({ drift: run.drift, updated: run.updated }, { drift: {}, updated: [] }, "the boot made exactly what we declared");
  });

  it("a node's new address replaces its old one on the link; addresses removed from the fabric take the link and its stanza away", async () => {
    const moved = (i: number) => (i === 0 ? "10.80.0.11" : nodeAddress(i));
    const run = await driver.converge(parseFabricOrThrow(ours(moved)));
    assert.ok(run.updated.includes("pa/dummy_ours"), `pa's address updated: ${JSON.stringify(run)}`);
    assert.match(addressLink("pa"), /^dummy_ours +(UP|UNKNOWN) +10\.80\.0\.11\/32 *$/, `only the new address: ${addressLink("pa")}`);
    assert.notEqual(await lab.pingUntilAnswer("pb", "10.80.0.11", 12), undefined, "pb reaches pa's new address");
    await driver.converge(parseFabricOrThrow(ours(() => undefined)));
    for (const node of NODES) {
      assert.match(addressLink(node), /does not exist/, `${node}: dummy_ours gone`);
      assert.ok(!existsSync(lab.nodePath(node, "/etc/network/interfaces.d/wg-fabric-dummy_ours")), `${node}: its stanza gone`);
    }
    await pingsAll((i) => `10.81.0.${i + 1}`);
    const again = await driver.converge(parseFabricOrThrow(ours(() => undefined)));
    assert.deepEqual({ drift: again.drift, updated: again.updated }, { drift: {}, updated: [] }, "nothing for the next up to do");
  });

  it("an interface and a node address removed while a Proxmox VE network apply runs stay removed: the removal waits for an ifupdown2 run that read their stanzas", async () => {
    const late = new ProviderDriver(connections);
    const nodes = ["pb", "pc"] as const;
    const fabric: FabricInput = {
      name: "late",
      ipPrefix: "10.93.0.0/24",
      nodes: Object.fromEntries(
        nodes.map((node, i) => [
          node,
          {
            role: "internal" as const,
            ip: `10.93.0.${i + 1}`,
            endpoint: lab.host(node).ip,
            applyMode: MODES[node],
            interfaces: { wg7: { listenPort: 51907, ip: `10.94.0.${i + 1}/24` } },
            peers: [{ type: "internal" as const, node: nodes[1 - i] as string, nodeIface: "wg7", iface: "wg7" }],
          },
        ]),
      ),
    };
    await late.converge(parseFabricOrThrow(fabric));
    const links = (node: string) => lab.nodeExec(node, "ip", ["-br", "link"]);
    for (const node of nodes) assert.match(links(node), /^wg7 [\s\S]*^dummy_late |^dummy_late [\s\S]*^wg7 /m, `${node}: both links up`);
    // Proxmox VE's network apply, caught after it read our stanzas: ifreload holds ifupdown2's lock
    // (ifupdown2, ifupdown/main.py: /run/network/.lock, taken before it reads the interfaces file)
    // and makes the links it read, by the stanzas' own lines, once it gets to them, 1.5 s on
    const makes = "ip link show dev wg7 >/dev/null 2>&1 || WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go wg7; ip link show dev dummy_late >/dev/null 2>&1 || ip link add dev dummy_late type dummy";
    for (const node of nodes) {
      lab.nodeExec(node, "sh", ["-c", `mkdir -p /run/network; setsid flock /run/network/.lock sh -c 'sleep 1.5; ${makes}' </dev/null >/dev/null 2>&1 &`]);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    await late.destroy();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const found = nodes.map((node) => [node, links(node)] as const);
    for (const node of nodes) lab.nodeExec(node, "sh", ["-c", "ip link delete dev wg7 2>/dev/null; ip link delete dev dummy_late 2>/dev/null; true"]);
    for (const [node, running] of found) {
      assert.doesNotMatch(running, /^(wg7|dummy_late)[ @]/m, `${node} (${MODES[node]} mode): a link of the removed fabric runs again`);
      for (const file of ["/etc/network/interfaces.d/wg-fabric-wg7", "/etc/network/interfaces.d/wg-fabric-dummy_late", "/etc/wireguard/wg-fabric/wg7.conf"]) {
        assert.ok(!existsSync(lab.nodePath(node, file)), `${node}: ${file} gone`);
      }
    }
    await pingsAll((i) => `10.81.0.${i + 1}`);
  });

  it("an interface name, listen port or node address link of Proxmox VE's fabric is refused before any change, naming its file and line", async () => {
    const other = new ProviderDriver(connections);
    const named = await other.converge(parseFabricOrThrow({ name: "clash", nodes: { pa: { role: "internal", applyMode: "proxmox", interfaces: { wg9: { listenPort: 51999, ip: "10.89.0.1/24" } } } } }), false);
    assert.match(named.errors.join("\n"), /\/etc\/pve\/sdn\/fabrics\.cfg:7: Proxmox VE's fabric pvefab has interface wg9 on this node \(pa\); name ours differently, or set adopt: true/);
    assert.ok(!existsSync(lab.nodePath("pa", "/etc/wireguard/wg-fabric/wg9.key")), "no key was made");
    const port = await other.converge(parseFabricOrThrow({ name: "clash", nodes: { pa: { role: "internal", interfaces: { wg5: { listenPort: 51900, ip: "10.89.0.1/24" } } } } }), false);
    assert.match(port.errors.join("\n"), /\/etc\/pve\/sdn\/fabrics\.cfg:7: listen port 51900 is used by interface wg9 of Proxmox VE's fabric pvefab on this node \(pa\); choose another port; nothing was changed/);
    assert.doesNotMatch(lab.nodeExec("pa", "ip", ["-br", "link"]), /^wg5 /m, "no link was made");
    // a fabric of ours named as theirs, where theirs gives pa an address: both would write dummy_pvefab
    const file = lab.nodePath("pa", "/etc/pve/sdn/fabrics.cfg");
    const theirs = readFileSync(file, "utf8");
    try {
      lab.pveFabrics(theirs.replace("wireguard_fabric: pvefab\n", "wireguard_fabric: pvefab\n\tip_prefix 10.90.0.0/24\n").replace("wireguard_node: pvefab_pa\n", "wireguard_node: pvefab_pa\n\tip 10.90.0.1\n"));
      const line = readFileSync(file, "utf8").split("\n").indexOf("\tip 10.90.0.1") + 1;
      const named = { name: "pvefab", ipPrefix: "10.91.0.0/24", nodes: { pa: { role: "internal" as const, ip: "10.91.0.1", interfaces: { wg6: { listenPort: 51906, ip: "10.92.0.1/24" } } } } };
      const clash = await other.converge(parseFabricOrThrow(named), false);
      assert.match(clash.errors.join("\n"), new RegExp(`/etc/pve/sdn/fabrics\\.cfg:${line}: Proxmox VE's fabric pvefab gives this node \\(pa\\) an address on dummy_pvefab too`));
      assert.ok(!existsSync(lab.nodePath("pa", "/etc/network/interfaces.d/wg-fabric-dummy_pvefab")), "no stanza was written");
      assert.match(lab.nodeExec("pa", "sh", ["-c", "ip -br link show dev dummy_pvefab 2>&1 || true"]), /does not exist/, "no link was made");
    } finally {
      lab.pveFabrics(theirs);
    }
    await other.destroy();
    await pingsAll((i) => `10.82.0.${i + 1}`);
  });
});
