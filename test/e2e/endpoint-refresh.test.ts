import * as assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import * as wg from "pulumi-wireguard-fabric";
import { Lab } from "../../lab/lab";
import { EngineLog, inlineStack } from "./harness";

/**
 * Endpoints that follow their DNS names, through the engine on the lab, in the three modes that
 * bring an interface up: node `era` reaches `erb` by a name its own resolver answers
 * (its private /etc/hosts). `erb` has no endpoint for `era`, and `era` sits behind a stateful
 * firewall (as behind NAT) that lets in only answers to what it sent: `erb` cannot speak first
 * (WireGuard would otherwise start a handshake from `erb` once its data goes unanswered). When
 * `erb`'s underlay address changes and the name follows, only `era`'s follower can bring the
 * tunnel back, with no `pulumi up`.
 */
for (const [mode, subnet, labName] of [["wg-quick", 24, "wger"], ["ifupdown2", 25, "wgei"], ["proxmox", 26, "wgep"]] as const) {
  describe(`endpoints that follow their DNS names (${mode})`, function () {
    this.timeout(600_000);
    const NAME = "erb-wan.lab.test";
    const INTERVAL = 2;
    const SCRIPT = "/etc/wireguard/wg-fabric/wg0.endpoint-refresh.sh";
    const CONFIG = mode === "wg-quick" ? "/etc/wireguard/wg0.conf" : "/etc/wireguard/wg-fabric/wg0.conf";
    // proxmox mode on Proxmox VE nodes (the lab's personality: its boot's ifupdown2 makes the link from the stanza)
    const personality = mode === "proxmox" ? { proxmox: ["era", "erb"] } : {};
    let lab: Lab;
    let stack: Stack;
    let workDir: string;
    const log = new EngineLog();
    let refresh: number | undefined = INTERVAL;
    /** erb's underlay addresses beside its management one (where sshd listens), one per move. */
    const wan = (n: number) => `198.18.${subnet}.${100 + n}`;

    const program = async () => {
      const node = (name: "era" | "erb", i: number): wg.InternalNodeSpec => ({
        role: "internal",
        connection: { ...lab.host(name).connection, privateKey: pulumi.secret(lab.host(name).connection.privateKey) },
        ...(name === "erb" ? { endpoint: NAME } : {}),
        interfaces: { wg0: { listenPort: 51820, ip: `10.78.${subnet}.${i + 1}/24` } },
        ...(name === "era" && refresh !== undefined ? { endpointRefresh: refresh } : {}),
      });
      const fabric = new wg.Fabric("dns", { nodes: { era: node("era", 0), erb: node("erb", 1) }, links: [["era/wg0", "erb/wg0"]], defaults: { applyMode: mode } });
      return { drift: fabric.drift };
    };
    /** The loop's PIDs on era (the follower of its endpoint names). */
    const loops = () => lab.processes("era", `${SCRIPT} loop wg0`);
    /** Where era's WireGuard sends to erb now. */
    const endpointOnEra = () => lab.nodeExec("era", "wg", ["show", "wg0", "endpoints"]).trim().split("\t")[1];
    /** Moves erb to its `n`th underlay address, the name with it, the old address gone. */
    const move = (n: number) => {
      lab.underlayAddress("erb", "add", wan(n));
      lab.setHostName("era", NAME, wan(n));
      lab.underlayAddress("erb", "del", wan(n - 1));
    };
    /** era's firewall, as behind NAT: WireGuard packets come in only as answers to its own. */
    const firewall = () =>
      lab.nodeExec("era", "nft", ["-f", "-"], "table inet lab-nat {\n chain input {\n  type filter hook input priority 0;\n  udp dport 51820 ct state new drop\n }\n}\n");
    const tunnelAnswers = async (seconds: number) => lab.pingUntilAnswer("era", `10.78.${subnet}.2`, seconds);

    before(async () => {
      lab = await Lab.start(["era", "erb"], { name: labName, subnet, ...personality });
      lab.underlayAddress("erb", "add", wan(0));
      lab.setHostName("era", NAME, wan(0));
      firewall();
      ({ stack, workDir } = await inlineStack(`wgfabric-dns-${mode}`, "dev", program));
    });
    after(async () => {
      if (stack) await stack.destroy().catch(() => undefined);
      lab?.stop();
      if (workDir) rmSync(workDir, { recursive: true, force: true });
    });

    it("up starts the follower on the node reached by name only, with the interface's files; the tunnel passes traffic", async () => {
      await stack.up(log.options);
      assert.notEqual(await tunnelAnswers(12), undefined, "era -> erb");
      assert.equal(endpointOnEra(), `${wan(0)}:51820`);
      assert.equal(loops().length, 1, "one loop on era");
      assert.deepEqual(lab.processes("erb", "endpoint-refresh.sh"), [], "erb reaches no one by name");
      assert.equal(lab.nodeExec("era", "sh", [SCRIPT, "status", "wg0"]), `${INTERVAL}\t${CONFIG}\n`);
      const files = mode === "wg-quick" ? lab.readNodeFile("era", CONFIG) : lab.readNodeFile("era", "/etc/network/interfaces.d/wg-fabric-wg0");
      assert.match(files, new RegExp(`${mode === "wg-quick" ? "PostUp = " : "\tpost-up "}sh ${SCRIPT} start wg0 ${INTERVAL} ${CONFIG}\n`));
      assert.deepEqual((await stack.up()).summary.resourceChanges, { same: 8 }, "converged: the stack, the fabric, 2 nodes, their keys and configs");
    });

    it("erb's address changes and the name follows: era's tunnel answers again within the interval and a handshake, no up; refresh finds nothing", async () => {
      move(1);
      const took = await tunnelAnswers(INTERVAL + 15);
      assert.notEqual(took, undefined, "the tunnel answers again");
      assert.equal(endpointOnEra(), `${wan(1)}:51820`, "era's follower set the address the name gives now");
      const refreshed = await stack.refresh();
      assert.deepEqual(Object.keys(refreshed.summary.resourceChanges ?? {}), ["same"], "refresh: nothing changed");
      assert.deepEqual((await stack.outputs()).drift?.value, { "era/wg0": [], "erb/wg0": [] }, "and no drift on any interface");
      assert.deepEqual((await stack.preview()).changeSummary, { same: 8 }, "preview: nothing to do");
    });

    it("a reboot of either node keeps it: era's boot starts it again, erb's leaves it running", async () => {
      await lab.reboot("era");
      firewall(); // a boot loads it again
      assert.equal(loops().length, 1, "era's boot started the loop with the interface");
      assert.notEqual(await tunnelAnswers(15), undefined, "era -> erb after era's reboot");
      move(2);
      assert.notEqual(await tunnelAnswers(INTERVAL + 15), undefined, "after a move, without up");
      const before = loops();
      await lab.reboot("erb");
      // era's session is gone at erb: era handshakes again once its data goes unanswered (15 s)
      assert.notEqual(await tunnelAnswers(30), undefined, "era -> erb after erb's reboot");
      assert.deepEqual(loops(), before, "era's loop ran on");
    });

    it("endpointRefresh 0 removes it: no loop, no hook line, no script file; the tunnel stays up", async () => {
      refresh = 0;
      await stack.up(log.options);
      assert.deepEqual(loops(), []);
      const files = mode === "wg-quick" ? lab.readNodeFile("era", CONFIG) : lab.readNodeFile("era", "/etc/network/interfaces.d/wg-fabric-wg0");
      assert.doesNotMatch(files, /endpoint-refresh/);
      assert.equal(existsSync(lab.nodePath("era", SCRIPT)), false);
      assert.notEqual(await tunnelAnswers(10), undefined);
      assert.deepEqual((await stack.up()).summary.resourceChanges, { same: 8 }, "converged");
      // and a move is no longer followed (the tunnel stays down until the next up)
      move(3);
      assert.equal(await tunnelAnswers(INTERVAL + 8), undefined, "nothing follows the name now");
    });
  });
}
