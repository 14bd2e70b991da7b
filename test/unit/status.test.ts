import * as assert from "node:assert/strict";
import { stackInterfaces, type StackInterface } from "../../provider/cli/stack-state";
import { formatStatusTable, humanAge, humanBytes, presharedKeyText, statusReport } from "../../provider/cli/status";
import { KEYS, prng, seedFrom } from "./helpers";

const NOW = 1_800_000_000;

/** An InterfaceConfig resource as `pulumi stack export` shows it (a pre-shared key encrypted). */
function exportedConfig(outputs: Record<string, unknown>, type = "pulumi-nodejs:dynamic/wireguard-fabric:InterfaceConfig") {
  return { urn: "urn:pulumi:lab::p::x::y", type, outputs: { __provider: "exports.handler = …", connection: { ciphertext: "v1:…" }, ...outputs } };
}

describe("wg-fabric status", () => {
  it("reads the interfaces of a stack export: declared peers (a PSK stays encrypted), status and drift; 0.1 resources are skipped", () => {
    const exported = JSON.stringify({
      version: 3,
      deployment: {
        resources: [
          { urn: "urn:pulumi:lab::p::pulumi:pulumi:Stack::p-lab", type: "pulumi:pulumi:Stack" },
          exportedConfig({
            owner: "vpn/occultist/wg0",
            node: "occultist",
            iface: "wg0",
            address: "198.51.100.2/24",
            listenPort: 50000,
            peers: {
              "elementalist/wg0": { publicKey: KEYS.elementalist, endpoint: "192.0.2.1:50000", presharedKey: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:…" } },
              berserker: { publicKey: KEYS.berserker, endpoint: "192.0.2.9:51337" },
            },
            drift: [],
            status: { state: "up", peers: [{ publicKey: KEYS.elementalist, endpoint: "192.0.2.1:50000", latestHandshake: NOW - 5, rxBytes: 10, txBytes: 20 }] },
          }),
          exportedConfig({ config: "[Interface]\n…", node: "elementalist", iface: "wg0" }, "pulumi-nodejs:dynamic:Resource"),
        ],
      },
    });
    const interfaces = stackInterfaces(exported);
    assert.equal(interfaces.length, 1);
    assert.equal(interfaces[0]?.fabric, "vpn");
    assert.deepEqual(Object.keys(interfaces[0]?.peers ?? {}), ["elementalist/wg0", "berserker"]);
  });

  it("the drift of a node's address link (dummy_<fabric>) is on every row of that node's interfaces, after the link's name", () => {
    const config = (node: string, peer: string) =>
      exportedConfig({ owner: `vpn/${node}/wg0`, node, iface: "wg0", peers: { [`${peer}/wg0`]: { publicKey: KEYS[peer as "occultist" | "elementalist"] } }, drift: [] });
    const address = (node: string, drift: string[]) => exportedConfig({ owner: `vpn/${node}/dummy_vpn`, node, link: "dummy_vpn", drift }, "pulumi-nodejs:dynamic/wireguard-fabric:NodeAddress");
    const exported = JSON.stringify({
      deployment: { resources: [config("occultist", "elementalist"), config("elementalist", "occultist"), address("occultist", ["10.80.0.2/32 missing on the link"]), address("elementalist", [])] },
    });
    const report = statusReport(stackInterfaces(exported), NOW);
    assert.deepEqual(
      report.peerings.map((p) => [p.interface, p.drift]),
      [
        ["elementalist/wg0", []],
        ["occultist/wg0", ["dummy_vpn: 10.80.0.2/32 missing on the link"]],
      ],
    );
    assert.match(formatStatusTable(report), /occultist\/wg0 .*dummy_vpn: 10\.80\.0\.2\/32 missing on the link/);
  });

  it("a peering's pre-shared key: none, the user's, or a pair key made on the nodes with its age and whether its ends agree", () => {
    const config = (node: string, peers: Record<string, Record<string, unknown>>) =>
      exportedConfig({ owner: `vpn/${node}/wg0`, node, iface: "wg0", peers, drift: [], status: { state: "up", peers: [] } });
    const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:…" };
    const pairKeys = (drift: string[]) => ({
      urn: "urn:pulumi:lab::p::x::pair-keys",
      type: "pulumi-nodejs:dynamic/wireguard-fabric:PairKeys",
      outputs: { pairs: { "elementalist/wg0~occultist/wg0": {} }, fingerprints: { "elementalist/wg0~occultist/wg0": "0123456789abcdef" }, made: { "elementalist/wg0~occultist/wg0": NOW - 93_600 }, drift, nodes: secret },
    });
    const exported = (drift: string[]) =>
      JSON.stringify({
        deployment: {
          resources: [
            config("occultist", {
              "elementalist/wg0": { publicKey: KEYS.elementalist, pairKey: { file: "wg0@elementalist@wg0.psk", fingerprint: "0123456789abcdef" } },
              "berserker/wg0": { publicKey: KEYS.berserker, presharedKey: secret },
              "wizard/wg0": { publicKey: "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28=" },
            }),
            config("elementalist", { "occultist/wg0": { publicKey: KEYS.occultist, pairKey: { file: "wg0@occultist@wg0.psk", fingerprint: "0123456789abcdef" } } }),
            pairKeys(drift),
          ],
        },
      });
    const rows = (drift: string[]) => statusReport(stackInterfaces(exported(drift)), NOW).peerings.map((p) => [`${p.interface} ${p.peer}`, p.presharedKey, p.drift]);
    const made = { kind: "pair", agree: true, age: 93_600 };
    assert.deepEqual(rows([]), [
      ["elementalist/wg0 occultist/wg0", made, []],
      ["occultist/wg0 berserker/wg0", { kind: "user" }, []],
      ["occultist/wg0 elementalist/wg0", made, []],
      ["occultist/wg0 wizard/wg0", { kind: "none" }, []],
    ]);
    const differ = "pair elementalist/wg0~occultist/wg0: the two ends hold different keys";
    const report = statusReport(stackInterfaces(exported([differ])), NOW);
    assert.deepEqual(
      report.peerings.map((p) => [p.peer, p.presharedKey.kind === "pair" && p.presharedKey.agree, p.drift]),
      [
        ["occultist/wg0", false, [differ]],
        ["berserker/wg0", false, []],
        ["elementalist/wg0", false, [differ]],
        ["wizard/wg0", false, []],
      ],
    );
    // a node the last refresh could not reach: whether the ends agree is not known
    const unchecked = "pair elementalist/wg0~occultist/wg0: not checked: occultist/wg0 could not be asked (node occultist: cannot connect)";
    const notChecked = statusReport(stackInterfaces(exported([unchecked])), NOW).peerings.filter((p) => p.presharedKey.kind === "pair");
    assert.deepEqual(notChecked.map((p) => [p.presharedKey, presharedKeyText(p.presharedKey), p.drift]), [
      [{ kind: "pair", age: 93_600 }, "? pair: not checked", [unchecked]],
      [{ kind: "pair", age: 93_600 }, "? pair: not checked", [unchecked]],
    ]);
    const table = formatStatusTable(statusReport(stackInterfaces(exported([])), NOW));
    assert.match(table, /elementalist\/wg0 +occultist\/wg0 .* pair, 1d 2h old +in sync/);
    assert.match(table, /berserker\/wg0 .* user's +in sync/);
    assert.match(formatStatusTable(report), /! pair: ends differ +pair elementalist/);
  });

  it("a peering is healthy with a handshake within the threshold on an interface that is up (seeded random stacks against a model)", () => {
    const seed = seedFrom("WGF_STATUS_SEED");
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    for (let round = 0; round < 200; round++) {
      const maxAge = 1 + Math.floor(random() * 300);
      const interfaces: StackInterface[] = [];
      const expected: { row: string; healthy: boolean; drift: string[] }[] = [];
      const ifaceCount = 1 + Math.floor(random() * 4);
      for (let i = 0; i < ifaceCount; i++) {
        const state = pick(["up", "up", "up", "down", "written"]);
        const peers: StackInterface["peers"] = {};
        const live: NonNullable<StackInterface["status"]>["peers"] = [];
        const drift: string[] = [];
        const interfaceLine = random() < 0.3 ? [`the MTU is not ${1280 + i}`] : [];
        drift.push(...interfaceLine);
        const peerCount = Math.floor(random() * 4);
        const rows: { label: string; healthy: boolean; drift: string[] }[] = [];
        for (let p = 0; p < peerCount; p++) {
          const label = `n${i}p${p}/wg0`;
          const key = `key-${round}-${i}-${p}`;
          peers[label] = { publicKey: key, endpoint: `192.0.2.${p}:51820` };
          const age = pick([undefined, 0, Math.floor(random() * maxAge), maxAge, maxAge + 1 + Math.floor(random() * 1000)]);
          if (age !== undefined || random() < 0.5) live.push({ publicKey: key, latestHandshake: age === undefined ? 0 : NOW - age, rxBytes: 1, txBytes: 2 });
          const peerLine = random() < 0.3 ? [`peer ${key} needs endpoint 192.0.2.${p}:51820`] : [];
          drift.push(...peerLine);
          rows.push({ label, healthy: state === "up" && age !== undefined && age <= maxAge, drift: [...interfaceLine, ...peerLine] });
        }
        interfaces.push({ fabric: "f", owner: `f/n${i}/wg0`, node: `n${i}`, iface: "wg0", peers, drift, status: { state, peers: live } });
        for (const row of rows.sort((a, b) => a.label.localeCompare(b.label))) expected.push({ row: `n${i}/wg0 ${row.label}`, healthy: row.healthy, drift: row.drift });
      }
      const report = statusReport(interfaces, NOW, maxAge);
      const got = report.peerings.map((p) => ({ row: `${p.interface} ${p.peer}`, healthy: p.healthy, drift: [...p.drift] }));
      assert.deepEqual(got, expected, `seed ${seed} (replay with WGF_STATUS_SEED=${seed}), round ${round}`);
      assert.equal(report.healthy, expected.length > 0 && expected.every((e) => e.healthy), `seed ${seed}, round ${round}`);
    }
  });

  it("prints ages and byte counts in human units, stale rows marked, one summary line", () => {
    assert.deepEqual([0, 42, 59, 60, 303, 7500, 270000].map(humanAge), ["0s", "42s", "59s", "1m", "5m 3s", "2h 5m", "3d 3h"]);
    assert.deepEqual([0, 1023, 1536, 10 * 1024, 5 * 2 ** 20 + 2 ** 19, 3 * 2 ** 30].map(humanBytes), ["0 B", "1023 B", "1.5 KiB", "10 KiB", "5.5 MiB", "3.0 GiB"]);
    const report = statusReport(
      [
        {
          fabric: "vpn",
          owner: "vpn/occultist/wg0",
          node: "occultist",
          iface: "wg0",
          peers: { "elementalist/wg0": { publicKey: KEYS.elementalist, endpoint: "192.0.2.1:50000" }, berserker: { publicKey: KEYS.berserker, endpoint: "192.0.2.9:51337" } },
          drift: [`peer ${KEYS.berserker} needs endpoint 192.0.2.9:51337`],
          status: { state: "up", peers: [{ publicKey: KEYS.elementalist, endpoint: "198.18.0.1:50000", latestHandshake: NOW - 75, rxBytes: 2048, txBytes: 100 }] },
        },
      ],
      NOW,
    );
    assert.equal(
      formatStatusTable(report),
      [
        "INTERFACE      PEER              ENDPOINT          HANDSHAKE   RX       TX     PSK   DRIFT",
        `occultist/wg0  berserker         192.0.2.9:51337   ! never     0 B      0 B    none  peer ${KEYS.berserker} needs endpoint 192.0.2.9:51337`,
        "occultist/wg0  elementalist/wg0  198.18.0.1:50000  1m 15s ago  2.0 KiB  100 B  none  in sync",
        "",
        "1 of 2 peerings had no handshake in the last 180s (marked !)",
      ].join("\n"),
    );
  });
});
