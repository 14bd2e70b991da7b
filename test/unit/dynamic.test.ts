import * as assert from "node:assert/strict";
import * as configImpl from "../../provider/dynamic/config-impl";
import type { ConfigInputs, ConfigOutputs, KeyInputs, KeyOutputs } from "../../provider/dynamic/inputs";
import * as keyImpl from "../../provider/dynamic/key-impl";
import { readConfig } from "../../provider/fabric";
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
  const inspection = (peers: string, extra = "") =>
    parseInspection(`key\tpresent\npub\t${KEYS.occultist}\ndigest\tabc\nours\tyes\nup\tyes\nlisten\t50000\npublic\t${KEYS.occultist}\naddr\t198.51.100.2/24\n${peers}${extra}`);
  const expected = { digest: "abc", publicKey: KEYS.occultist, running: true };

  it("reads back what a config declares", () => {
    assert.deepEqual(readConfig(rendered), {
      listenPort: 50000,
      addresses: ["198.51.100.2/24"],
      peers: [{ publicKey: KEYS.elementalist, allowedIps: ["198.51.100.1/32", "203.0.113.128/25"], endpoint: "192.0.2.1:50000" }],
    });
  });

  it("is empty when node and declaration agree, and names each difference otherwise", () => {
    const peer = `peer\t${KEYS.elementalist}\t192.0.2.1:50000\t198.51.100.1/32,203.0.113.128/25\t1700000000\t100\t200\toff\n`;
    assert.deepEqual(driftOf(readConfig(rendered), expected, inspection(peer)), []);
    const stranger = `peer\t${KEYS.berserker}\t(none)\t10.0.0.0/8\t0\t0\t0\toff\n`;
    assert.deepEqual(driftOf(readConfig(rendered), { ...expected, digest: "other" }, inspection(stranger)), [
      "the config file was changed on the node",
      `peer ${KEYS.elementalist} is missing on the running interface`,
      `the running interface has a peer ${KEYS.berserker} that is not declared`,
    ]);
    assert.deepEqual(driftOf(readConfig(rendered), { ...expected, running: false }, parseInspection("key\tpresent\npub\tx\ndigest\tabc\nours\tno\nup\tno\n")), [
      `the key on the node now has public key x, not ${KEYS.occultist}`,
      "the config file was replaced by one we did not write",
    ]);
    assert.deepEqual(driftOf(readConfig(rendered), expected, parseInspection("key\tabsent\nup\tno\n")), [
      "the private key is missing on the node",
      "the config file is missing",
      "the interface is down",
    ]);
  });
});
