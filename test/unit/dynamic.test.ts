import * as assert from "node:assert/strict";
import * as configImpl from "../../provider/dynamic/config-impl";
import { renderEntry, type ConfigInputs, type ConfigOutputs, type KeyInputs, type KeyOutputs } from "../../provider/dynamic/inputs";
import * as keyImpl from "../../provider/dynamic/key-impl";
import { parseDeclared, planSync } from "../../provider/remote/plan";
import type { WgKey } from "../../provider/model";
import { configDigest, driftOf, parseInspection } from "../../provider/remote";
import { KEYS } from "./helpers";

const connection = { host: "198.18.0.1", port: 22, user: "root", dialErrorLimit: 10, perDialTimeout: 15 };
const key: KeyInputs = { node: "occultist", iface: "wg0", keyDir: "/etc/wireguard/wg-fabric", owner: "vpn/occultist/wg0", connection };
const elementalist = { publicKey: KEYS.elementalist, hostRoute: "198.51.100.1/32", endpoint: "192.0.2.1:50000", allowedIps: ["203.0.113.128/25"] };
const berserker = { publicKey: KEYS.berserker, endpoint: "192.0.2.3:51337", allowedIps: ["203.0.113.0/25"] };
const config: ConfigInputs = {
  ...key,
  applyMode: "wg-quick",
  listenPort: 50000,
  address: "198.51.100.2/24",
  peers: { "elementalist/wg0": elementalist, berserker },
  publicKey: KEYS.occultist as WgKey,
};
const stored: ConfigOutputs = { ...config, digest: configDigest(renderEntry(config).config, config.owner), drift: [], status: { state: "up", peers: [] } };

describe("dynamic providers (pure parts: check and diff open no connection)", () => {
  it("key: a new interface name or rotation trigger replaces, deleting the old key first", async () => {
    const olds: KeyOutputs = { ...key, publicKey: KEYS.occultist };
    assert.deepEqual(await keyImpl.diff("id", olds, key), { changes: false, replaces: [], deleteBeforeReplace: true });
    assert.deepEqual(await keyImpl.diff("id", olds, { ...key, iface: "wg1", owner: "vpn/occultist/wg1" }), { changes: true, replaces: ["iface", "owner"], deleteBeforeReplace: true });
    assert.deepEqual(await keyImpl.diff("id", olds, { ...key, rotation: "2026-11" }), { changes: true, replaces: ["rotation"], deleteBeforeReplace: true });
    assert.deepEqual(await keyImpl.diff("id", olds, { ...key, connection: { ...connection, port: 2222 } }), { changes: true, replaces: [], deleteBeforeReplace: true });
    // where the config lives matters when the key is made only: stacks made before it knew it change nothing
    assert.deepEqual(await keyImpl.diff("id", olds, { ...key, applyMode: "proxmox" }), { changes: false, replaces: [], deleteBeforeReplace: true });
  });

  it("key: a new key folder (also 0.2's default, /etc/wireguard/proxmox, becoming ours) moves the key: an update, never a new key", async () => {
    const olds: KeyOutputs = { ...key, keyDir: "/etc/wireguard/proxmox", publicKey: KEYS.occultist };
    assert.deepEqual(await keyImpl.diff("id", olds, key), { changes: true, replaces: [], deleteBeforeReplace: true });
  });

  it("config: files that move (a new key folder; proxmox mode's config out of Proxmox VE's folder, in a state of 0.2) are an update, never a replacement", async () => {
    const ifupdown2: ConfigInputs = { ...config, applyMode: "ifupdown2" };
    const storedIfupdown2: ConfigOutputs = { ...stored, ...ifupdown2, keyDir: "/etc/wireguard/proxmox" };
    assert.deepEqual(await configImpl.diff("id", storedIfupdown2, ifupdown2), { changes: true, replaces: [], deleteBeforeReplace: true });
    // 0.2's proxmox mode wrote Proxmox VE's folder whatever the key folder: its state has no configPath
    const proxmox: ConfigInputs = { ...config, applyMode: "proxmox" };
    const legacy: ConfigOutputs = { ...stored, ...proxmox, digest: configDigest(renderEntry(proxmox).config, config.owner) };
    assert.deepEqual(await configImpl.diff("id", legacy, proxmox), { changes: true, replaces: [], deleteBeforeReplace: true });
    assert.equal((await configImpl.diff("id", { ...legacy, configPath: "/etc/wireguard/wg-fabric/wg0.conf" }, proxmox)).changes, false, "once recorded in its place, nothing moves");
    assert.equal((await configImpl.diff("id", { ...stored, keyDir: "/etc/wireguard/proxmox" }, config)).changes, true, "wg-quick mode: the key it reads moved");
  });

  it("config: a changed peer, own key or drift found by refresh are updates; a new apply mode replaces", async () => {
    assert.equal((await configImpl.diff("id", stored, config)).changes, false);
    const reordered: ConfigInputs = { ...config, peers: { berserker, "elementalist/wg0": elementalist } };
    assert.equal((await configImpl.diff("id", stored, reordered)).changes, false, "peers are rendered in name order, whatever order they come in");
    assert.equal((await configImpl.diff("id", stored, { ...config, peers: { ...config.peers, berserker: { ...berserker, persistentKeepalive: 25 } } })).changes, true);
    assert.equal((await configImpl.diff("id", stored, { ...config, peers: { ...config.peers, berserker: { ...berserker, presharedKey: KEYS.elementalist } } })).changes, true);
    assert.equal((await configImpl.diff("id", stored, { ...config, mtu: 1380 })).changes, true);
    assert.equal((await configImpl.diff("id", stored, { ...config, publicKey: KEYS.elementalist as WgKey })).changes, true);
    assert.equal((await configImpl.diff("id", { ...stored, drift: ["the interface is down"] }, config)).changes, true);
    assert.deepEqual((await configImpl.diff("id", stored, { ...config, applyMode: "ifupdown2" })).replaces, ["applyMode"]);
  });

  it("a state written before 0.2 (rendered text) is moved to the current shape by one update", async () => {
    const legacy = { ...stored, peers: undefined, config: renderEntry(config).config, stanza: "" } as unknown as ConfigOutputs;
    const diff = await configImpl.diff("id", legacy, config);
    assert.deepEqual(diff, { changes: true, replaces: [], deleteBeforeReplace: true });
  });

  it("check names the bad field, and lets values unknown at preview through", async () => {
    const secret = "not-a-key-but-secret";
    const bad = await configImpl.check(config, { ...config, iface: "wg0;reboot", peers: { ...config.peers, berserker: { ...berserker, presharedKey: secret, allowedIps: ["203.0.113.1/25"] } } });
    assert.deepEqual(
      bad.failures?.map((f) => f.property),
      ["iface", "peers", "peers"],
    );
    assert.match(bad.failures?.[1]?.reason ?? "", /^peers\.berserker\.presharedKey: is not a WireGuard key/);
    assert.match(bad.failures?.[2]?.reason ?? "", /^peers\.berserker\.allowedIps\.0: .*host bits/);
    assert.ok(!JSON.stringify(bad.failures).includes(secret), "a bad pre-shared key is never quoted");
    const misleading = await configImpl.check(config, { ...config, peers: { berserker: { ...berserker, presharedKey: KEYS.elementalist, presharedKeyFingerprint: "0123456789abcdef" } } });
    assert.deepEqual(misleading.failures?.map((f) => f.reason), ["peers.berserker.presharedKeyFingerprint: is not the fingerprint of presharedKey"]);
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const previewed = { ...config, publicKey: unknown, peers: { ...config.peers, "elementalist/wg0": { ...elementalist, publicKey: unknown } } };
    assert.deepEqual((await configImpl.check(config, previewed)).failures, []);
    assert.equal((await configImpl.diff("id", stored, previewed)).changes, true, "unknown keys may change the file");
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
  const expected = { digest: "abc", publicKey: KEYS.occultist, pairKeyFiles: [] };
  const driftFor = (found: ReturnType<typeof parseInspection>, mode: "wg-quick" | "none" = "wg-quick") =>
    driftOf(found, expected, planSync(parseDeclared(rendered), found.live, { mode, publicKey: KEYS.occultist }));

  it("is empty when node and declaration agree, and names each difference otherwise (from the same plan up executes)", () => {
    const peer = `peer\t${KEYS.elementalist}\t(none)\t192.0.2.1:50000\t198.51.100.1/32,203.0.113.128/25\t1700000000\t100\t200\toff`;
    assert.deepEqual(driftFor(inspection(files, upRecords(peer))), []);
    // a pair key file the config names no more (a dissolved peering: apply removes it)
    assert.deepEqual(driftFor(inspection(`${files}\npairkey-files\twg0@elementalist@wg0.psk `, upRecords(peer))), ["the pair key file wg0@elementalist@wg0.psk of no peering is still on the node"]);
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
