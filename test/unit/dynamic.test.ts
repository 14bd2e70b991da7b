import * as assert from "node:assert/strict";
import * as configImpl from "../../provider/dynamic/config-impl";
import type { ConfigInputs, ConfigOutputs, KeyInputs, KeyOutputs } from "../../provider/dynamic/inputs";
import * as keyImpl from "../../provider/dynamic/key-impl";
import { parseDeclared, planSync } from "../../provider/fabric";
import type { WgKey } from "../../provider/model";
import { driftOf, parseInspection } from "../../provider/remote";
import { KEYS } from "./helpers";

const connection = { host: "198.18.0.1", port: 22, user: "root", dialErrorLimit: 10, perDialTimeout: 15 };
const key: KeyInputs = { node: "occultist", iface: "wg0", keyDir: "/etc/wireguard/proxmox", owner: "vpn/occultist/wg0", connection };
const config: ConfigInputs = { ...key, applyMode: "wg-quick", publicKey: KEYS.occultist as WgKey, config: "[Interface]\nListenPort = 50000\n", stanza: "" };
const stored: ConfigOutputs = { ...config, digest: "d", drift: [], status: { state: "up", peers: [] } };

describe("dynamic providers (pure parts: check and diff open no connection)", () => {
  it("key: a new interface name or rotation trigger replaces, deleting the old key first", async () => {
    const olds: KeyOutputs = { ...key, publicKey: KEYS.occultist };
    assert.deepEqual(await keyImpl.diff("id", olds, key), { changes: false, replaces: [], deleteBeforeReplace: true });
    assert.deepEqual(await keyImpl.diff("id", olds, { ...key, iface: "wg1", owner: "vpn/occultist/wg1" }), { changes: true, replaces: ["iface", "owner"], deleteBeforeReplace: true });
    assert.deepEqual(await keyImpl.diff("id", olds, { ...key, rotation: "2026-11" }), { changes: true, replaces: ["rotation"], deleteBeforeReplace: true });
    assert.deepEqual(await keyImpl.diff("id", olds, { ...key, connection: { ...connection, port: 2222 } }), { changes: true, replaces: [], deleteBeforeReplace: true });
  });

  it("config: text, own key or drift found by refresh are updates; a new apply mode replaces", async () => {
    assert.equal((await configImpl.diff("id", stored, config)).changes, false);
    assert.equal((await configImpl.diff("id", stored, { ...config, config: `${config.config}\n[Peer]\n` })).changes, true);
    assert.equal((await configImpl.diff("id", stored, { ...config, publicKey: KEYS.elementalist as WgKey })).changes, true);
    assert.equal((await configImpl.diff("id", { ...stored, drift: ["the interface is down"] }, config)).changes, true);
    assert.deepEqual((await configImpl.diff("id", stored, { ...config, applyMode: "ifupdown2" })).replaces, ["applyMode"]);
  });

  it("check names the bad field, and lets values unknown at preview through", async () => {
    const bad = await configImpl.check(config, { ...config, iface: "wg0;reboot", config: "[Interface]\nPrivateKey = x\n" });
    assert.deepEqual(
      bad.failures?.map((f) => f.property),
      ["iface", "config"],
    );
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    assert.deepEqual((await configImpl.check(config, { ...config, publicKey: unknown, config: unknown } as ConfigInputs)).failures, []);
    assert.deepEqual((await keyImpl.check(key, { ...key, connection: { ...connection, port: 70000 } })).failures?.map((f) => f.property), ["connection"]);
  });
});

describe("drift", () => {
  const rendered = `[Interface]\nListenPort = 50000\nAddress = 198.51.100.2/24\n\n[Peer]\nPublicKey = ${KEYS.elementalist}\nAllowedIPs = 198.51.100.1/32\nEndpoint = 192.0.2.1:50000\nAllowedIPs = 203.0.113.128/25\n`;
  const upRecords = (peers: string) =>
    [
      `link\t[{"ifname":"wg0","flags":["UP"],"mtu":1420}]`,
      `addr\t[{"addr_info":[{"family":"inet","local":"198.51.100.2","prefixlen":24,"scope":"global"}]}]`,
      `route4\t[{"dst":"203.0.113.128/25","protocol":"boot"}]`,
      "route6\t[]",
      "listen\t50000",
      `public\t${KEYS.occultist}`,
      peers,
    ].join("\n");
  const inspection = (files: string, running: string) => parseInspection(`${files}\n${running}\n`);
  const files = `key\tpresent\npub\t${KEYS.occultist}\ndigest\tabc\nours\tyes`;
  const expected = { digest: "abc", publicKey: KEYS.occultist };
  const driftFor = (found: ReturnType<typeof parseInspection>, mode: "wg-quick" | "none" = "wg-quick") =>
    driftOf(found, expected, planSync(parseDeclared(rendered), found.live, { mode, publicKey: KEYS.occultist }));

  it("is empty when node and declaration agree, and names each difference otherwise (from the same plan up executes)", () => {
    const peer = `peer\t${KEYS.elementalist}\t(none)\t192.0.2.1:50000\t198.51.100.1/32,203.0.113.128/25\t1700000000\t100\t200\toff`;
    assert.deepEqual(driftFor(inspection(files, upRecords(peer))), []);
    const stranger = `peer\t${KEYS.berserker}\t(none)\t(none)\t10.0.0.0/8\t0\t0\t0\toff`;
    assert.deepEqual(driftOf(inspection(files, upRecords(stranger)), { ...expected, digest: "other" }, planSync(parseDeclared(rendered), inspection(files, upRecords(stranger)).live, { mode: "wg-quick" })), [
      "the config file was changed on the node",
      `peer ${KEYS.elementalist} needs endpoint 192.0.2.1:50000, AllowedIPs 198.51.100.1/32, 203.0.113.128/25`,
      `peer ${KEYS.berserker} is not declared (or must be added anew)`,
    ]);
    assert.deepEqual(driftFor(inspection("key\tpresent\npub\tx\ndigest\tabc\nours\tno", ""), "none"), [
      `the key on the node now has public key x, not ${KEYS.occultist}`,
      "the config file was replaced by one we did not write",
    ]);
    assert.deepEqual(driftFor(inspection("key\tabsent", "")).slice(0, 3), ["the private key is missing on the node", "the config file is missing", "the interface does not exist"]);
  });
});
