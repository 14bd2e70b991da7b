import * as assert from "node:assert/strict";
import * as configImpl from "../../provider/dynamic/config-impl";
import type { ConfigInputs, ConfigOutputs, KeyInputs, KeyOutputs } from "../../provider/dynamic/inputs";
import * as keyImpl from "../../provider/dynamic/key-impl";
import type { WgKey } from "../../provider/model";
import { RemoteError } from "../../provider/remote";
import { setChannelTap } from "./channel-tap";
import { Lab } from "../../lab/lab";

/**
 * Trust on first use, through the dynamic providers: without a pinned hostKey, the key a node
 * presents at first contact is recorded in state and required on every later run; a changed
 * key stops before any command, showing both fingerprints and how to accept it.
 */
describe("host keys: pinned, or recorded at first contact and checked on every later run", function () {
  this.timeout(120_000);
  let lab: Lab;
  let sent = 0;
  let key: KeyOutputs;
  let config: ConfigOutputs;
  let replacement: string;

  const unpinned = () => {
    const { hostKey: _pinned, ...connection } = lab.host("tofu").connection;
    return { ...connection, dialErrorLimit: 2, perDialTimeout: 5 };
  };
  const keyInputs = (): KeyInputs => ({ node: "tofu", iface: "wg3", keyDir: "/etc/wireguard/wg-fabric", owner: "t/tofu/wg3", connection: unpinned() });
  const configInputs = (hostKey: string): ConfigInputs => ({
    ...keyInputs(),
    applyMode: "none",
    publicKey: key.publicKey as WgKey,
    listenPort: 50003,
    peers: {},
    hostKey,
  });

  before(async () => {
    lab = await Lab.start(["tofu"], { name: "wgft", subnet: 8 });
    setChannelTap((direction) => {
      if (direction === "sent") sent++;
    });
  });

  after(() => {
    setChannelTap(undefined);
    lab?.stop();
  });

  it("records the key presented at first contact; the config resource uses the same connection", async () => {
    const loginsBefore = lab.sshLogins("tofu");
    key = (await keyImpl.create(keyInputs())).outs as KeyOutputs;
    assert.equal(key.hostKey, lab.host("tofu").connection.hostKey, "the node's real host key");
    config = (await configImpl.create(configInputs(key.hostKey as string))).outs as ConfigOutputs;
    assert.equal(lab.sshLogins("tofu"), loginsBefore + 1, "one connection for both resources");
  });

  it("a changed host key stops refresh, update and delete before any command, naming both fingerprints", async () => {
    const oldFingerprint = lab.hostKeyFingerprint("tofu");
    const newKey = (replacement = await lab.replaceHostKey("tofu"));
    const newFingerprint = lab.hostKeyFingerprint("tofu");
    const before = sent;
    const mismatch = (error: unknown) =>
      error instanceof RemoteError &&
      error.kind === "host-key" &&
      error.message.includes(`expected ssh-ed25519 ${oldFingerprint}, but the server presented ssh-ed25519 ${newFingerprint} (${newKey}); nothing was run`) &&
      /pin the new key \(connection\.hostKey\) or set acceptNewHostKey on the node for one run/.test(error.message);
    await assert.rejects(keyImpl.read("tofu/wg3", key), mismatch);
    await assert.rejects(configImpl.read("tofu/wg3", config), mismatch);
    await assert.rejects(configImpl.update("tofu/wg3", config, { ...configInputs(key.hostKey as string), listenPort: 50004 }), mismatch);
    await assert.rejects(keyImpl.remove("tofu/wg3", key), mismatch);
    assert.equal(sent, before, "no command was sent to the impostor");
  });

  it("acceptNewHostKey records the new key for the node; later runs require it", async () => {
    const accepted = (await keyImpl.update("tofu/wg3", key, { ...keyInputs(), acceptNewHostKey: true })).outs as KeyOutputs;
    assert.equal(accepted.hostKey, replacement);
    key = { ...accepted, acceptNewHostKey: undefined };
    const read = await keyImpl.read("tofu/wg3", key);
    assert.equal((read.props as KeyOutputs).hostKey, accepted.hostKey);
    await configImpl.update("tofu/wg3", config, configInputs(accepted.hostKey as string));
    await configImpl.remove("tofu/wg3", { ...config, hostKey: accepted.hostKey });
    await keyImpl.remove("tofu/wg3", key);
  });

  it("an empty hostKey is refused at check (preview), naming the field", async () => {
    const failures = (await keyImpl.check(keyInputs(), { ...keyInputs(), connection: { ...unpinned(), hostKey: " " } })).failures;
    assert.deepEqual(
      failures?.map((failure) => failure.reason),
      ["connection.hostKey: must not be empty: give the node's key (ssh-ed25519 AAAA…), or leave hostKey out to record it at first contact"],
    );
  });
});
