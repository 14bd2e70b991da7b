import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { connectionSchema, parseFabricOrThrow, type Connection, type Fabric } from "../../provider/model";
import { Lab } from "../../lab/lab";
import { setChannelTap, type TappedChannel } from "./channel-tap";
import { ProviderDriver } from "./provider-driver";

const NODES = ["pfa", "pfb", "pfc"] as const;
const KEY_DIR = "/etc/wireguard/wg-fabric";
/** The triangle's pairs, first end first (name order, the end that makes the key). */
const PAIRS = [
  ["pfa", "pfb"],
  ["pfa", "pfc"],
  ["pfb", "pfc"],
] as const;

/**
 * Pair keys cut between the two ends' writes: the key made on the first end, the run broken
 * before or while the second end writes it (its link down, its disk full, its SSH session
 * killed). The next run must leave both ends holding one key, live, and a run that ends
 * without an error never leaves two ends that differ. Through the dynamic providers, as
 * `pulumi up --refresh` calls them; every SSH channel is tapped to show where key bytes go: out
 * of the first end's stdout, into the second end's stdin, nowhere else. A key is never printed:
 * ends are compared by digest.
 */
describe("pair keys cut between the two ends' writes: the next run converges, the key crosses only from one end to the other", function () {
  this.timeout(10 * 60_000);
  let lab: Lab;
  let driver: ProviderDriver;
  let rotation = 0;
  /** A pair of PAIRS whose peering has no pair key (pairKey: false in both entries), if any. */
  let without: readonly [string, string] | undefined;
  /** What crossed each channel: [channel, direction, bytes]. */
  const wire: [TappedChannel, "sent" | "received", Buffer][] = [];
  /** Every pair key a node held at some point, with its pair. */
  const seen = new Map<string, string>();
  let onChannel: ((channel: TappedChannel, direction: "sent" | "received", data: Buffer) => void) | undefined;

  const connections = (): Record<string, Connection> =>
    Object.fromEntries(lab.hosts.map((h) => [h.name, connectionSchema.parse({ ...h.connection, dialErrorLimit: 2, perDialTimeout: 3 })]));
  const fabric = (): Fabric =>
    parseFabricOrThrow({
      name: "pf",
      pairKeys: true,
      pairKeyRotation: `r${rotation}`,
      nodes: Object.fromEntries(
        NODES.map((name, i) => [
          name,
          {
            role: "internal",
            endpoint: lab.host(name).ip,
            interfaces: { wg0: { listenPort: 51820, ip: `10.79.0.${i + 1}/24` } },
            peers: NODES.filter((other) => other !== name).map((other) => ({
              type: "internal",
              node: other,
              nodeIface: "wg0",
              iface: "wg0",
              persistentKeepalive: 5,
              ...(without?.includes(name) && without.includes(other) ? { pairKey: false } : {}),
            })),
          },
        ]),
      ),
    });
  const keyOf = (node: string, peer: string): string | undefined => {
    const file = `${KEY_DIR}/wg0@${peer}@wg0.psk`;
    return readdirSync(lab.nodePath(node, KEY_DIR)).includes(`wg0@${peer}@wg0.psk`) ? lab.readNodeFile(node, file).trim() : undefined;
  };
  const digest = (text: string | undefined): string => (text === undefined ? "(missing)" : createHash("sha256").update(text).digest("hex").slice(0, 12));
  /** Remembers every key the nodes hold now, for the wire check at the end. */
  const remember = (): void => {
    for (const [a, b] of PAIRS) {
      for (const key of [keyOf(a, b), keyOf(b, a)]) if (key) seen.set(key, `${a}~${b}`);
    }
  };
  /** What is wrong with the pairs now: an end without the key, two ends that differ, a running interface with another key. */
  const disagreements = (): string[] => {
    const live = (node: string, peer: string): string => {
      const peerKey = lab.readNodeFile(peer, `${KEY_DIR}/wg0.pub`).trim();
      const line = lab.nodeExec(node, "wg", ["show", "wg0", "preshared-keys"]).split("\n").find((l) => l.startsWith(`${peerKey}\t`));
      const psk = line?.split("\t")[1];
      return digest(psk === "(none)" ? undefined : psk);
    };
    return PAIRS.flatMap(([a, b]) => {
      const [atA, atB] = [digest(keyOf(a, b)), digest(keyOf(b, a))];
      const problems: string[] = [];
      if (atA !== atB) problems.push(`${a}~${b}: ${a} holds ${atA}, ${b} ${atB}`);
      if (live(a, b) !== atA) problems.push(`${a}~${b}: ${a} runs another key than its file's`);
      if (live(b, a) !== atB) problems.push(`${a}~${b}: ${b} runs another key than its file's`);
      return problems;
    });
  };
  /** A run that ends without an error leaves every pair agreeing; returns its errors. */
  const converge = async (): Promise<string[]> => {
    const run = await driver.converge(fabric(), false);
    remember();
    if (run.errors.length === 0) assert.deepEqual(disagreements(), [], "a run without an error left a pair whose ends differ");
    return run.errors;
  };
  /** Runs `work` the moment the first end's `make` printed its keys (they are in this process's memory, the second end has not written them). */
  const whenMade = (work: () => void): void => {
    onChannel = (channel, direction, data) => {
      if (direction === "received" && channel.stream === "stdout" && /^key\t[^\t]+\.psk\t/m.test(data.toString("latin1"))) {
        onChannel = undefined;
        work();
      }
    };
  };

  before(async () => {
    lab = await Lab.start([...NODES], { name: "wgpf", subnet: 23 });
    setChannelTap((direction, data, channel) => {
      wire.push([channel, direction, Buffer.from(data)]);
      onChannel?.(channel, direction, data);
    });
    driver = new ProviderDriver(connections());
    assert.deepEqual(await converge(), []);
    assert.notEqual(await lab.pingUntilAnswer("pfa", "10.79.0.3", 12), undefined, "pfa -> pfc with pair keys");
  });
  after(async () => {
    setChannelTap(undefined);
    delete process.env.WG_FABRIC_COMMAND_TIMEOUT;
    await driver?.destroy().catch(() => undefined);
    lab?.stop();
  });

  /** Rotates every pair, breaks the run with `fault`, then checks the break and the next run. */
  async function cut(fault: (second: string) => void, restore: (second: string) => void): Promise<{ failed: string[]; drift: string[]; kept: boolean }> {
    rotation++;
    const second = "pfc";
    const before = PAIRS.map(([a, b]) => digest(keyOf(a, b)));
    const atSecond = () => PAIRS.map(([a, b]) => (b === second ? digest(keyOf(b, a)) : ""));
    const secondBefore = atSecond();
    fault(second);
    const failed = await converge();
    restore(second);
    const kept = atSecond().join() === secondBefore.join();
    const drift = (await driver.converge(fabric(), false)).drift["pair-keys"] ?? [];
    remember();
    assert.deepEqual(disagreements(), [], "the next run converged");
    const after = PAIRS.map(([a, b]) => digest(keyOf(a, b)));
    for (const [i, [a, b]] of PAIRS.entries()) assert.notEqual(after[i], before[i], `${a}~${b} rotated`);
    assert.notEqual(await lab.pingUntilAnswer("pfa", "10.79.0.3", 12), undefined, "pfa -> pfc");
    assert.notEqual(await lab.pingUntilAnswer("pfb", "10.79.0.3", 12), undefined, "pfb -> pfc");
    return { failed, drift, kept };
  }

  it("the second end's link down once the first end made the key: the run fails naming it; refresh names the pairs; the next run makes them anew", async () => {
    process.env.WG_FABRIC_COMMAND_TIMEOUT = "5";
    const { failed, drift, kept } = await cut(
      (second) => whenMade(() => lab.nodeExec(second, "ip", ["link", "set", "dev", "eth0", "down"])),
      (second) => lab.nodeExec(second, "ip", ["link", "set", "dev", "eth0", "up"]),
    );
    delete process.env.WG_FABRIC_COMMAND_TIMEOUT;
    assert.ok(kept, "the second end kept its old keys");
    console.log(`      the cut run: ${failed.join("; ")}; refresh: ${drift.join("; ")}`);
    assert.ok(failed.length > 0 && failed.every((error) => error.startsWith("pair-keys:") || error.includes("pfc")), `failed naming pfc: ${failed.join("; ")}`);
    assert.ok(
      drift.includes("pair pfa/wg0~pfc/wg0: the two ends hold different keys") && drift.every((line) => /^pair pf[ab]\/wg0~pfc\/wg0: /.test(line)),
      `refresh named the cut pairs: ${JSON.stringify(drift)}`,
    );
  });

  it("the second end's disk full: its write fails whole (the old key stays), the next run makes the pair anew", async () => {
    let empty: (() => void) | undefined;
    const { failed, kept } = await cut(
      // full once the first end made the key: the survey before it still reads the folder
      (second) => whenMade(() => (empty = lab.fillFolder(second, KEY_DIR))),
      () => empty?.(),
    );
    assert.ok(failed.some((error) => error.startsWith("pair-keys:") && error.includes("pfc")), `failed naming pfc: ${failed.join("; ")}`);
    assert.ok(kept, "the second end kept its old keys, whole");
  });

  it("the second end's SSH session killed while it writes: whether the write landed or not, the next run agrees", async () => {
    let killed = 0;
    await cut(
      (second) => {
        // the put's records (see pair-keys.sh) as they are about to be written to its stdin
        onChannel = (channel, direction, data) => {
          if (direction === "sent" && channel.stream === "stdin" && channel.host === lab.host(second).ip && data.toString("latin1").startsWith("op 3\nput")) {
            onChannel = undefined;
            for (const pid of lab.processes(second, "sshd:").filter((pid) => pid !== lab.host(second).pid)) {
              try {
                process.kill(pid, "SIGKILL");
                killed++;
              } catch {
                // gone already
              }
            }
          }
        };
      },
      () => {
        onChannel = undefined;
      },
    );
    assert.ok(killed > 0, "a session was killed");
  });

  it("a third node cut off: a pair of the other two goes, the cut node's pairs are kept; a new key for one of them fails naming it, nothing changed", async () => {
    process.env.WG_FABRIC_COMMAND_TIMEOUT = "5";
    const cutOff = "pfc";
    const files = () => PAIRS.flatMap(([a, b]) => [`${a}:${digest(keyOf(a, b))}`, `${b}:${digest(keyOf(b, a))}`]);
    const before = files();
    /** The cut node's pairs' files while it is cut off: untouched. */
    const kept = before.slice(2);
    lab.nodeExec(cutOff, "ip", ["link", "set", "dev", "eth0", "down"]);
    try {
      without = ["pfa", "pfb"];
      const dissolved = await driver.converge(fabric(), false);
      console.log(`      pfa~pfb's pair key off, ${cutOff} cut off: ${dissolved.errors.join("; ")}`);
      assert.ok(dissolved.errors.every((error) => error.includes(cutOff)), `only ${cutOff}'s resources failed: ${dissolved.errors.join("; ")}`);
      assert.ok(dissolved.updated.includes("pfa/wg0") && dissolved.updated.includes("pfb/wg0"), `pfa and pfb converged in the same run: ${JSON.stringify(dissolved)}`);
      assert.deepEqual([keyOf("pfa", "pfb"), keyOf("pfb", "pfa")], [undefined, undefined], "pfa~pfb's files are gone from both ends");
      const livePsk = (node: string, peer: string) => {
        const peerKey = lab.readNodeFile(peer, `${KEY_DIR}/wg0.pub`).trim();
        return lab.nodeExec(node, "wg", ["show", "wg0", "preshared-keys"]).split("\n").find((l) => l.startsWith(`${peerKey}\t`))?.split("\t")[1];
      };
      assert.deepEqual([livePsk("pfa", "pfb"), livePsk("pfb", "pfa")], ["(none)", "(none)"], "and from both live interfaces");
      assert.notEqual(await lab.pingUntilAnswer("pfa", "10.79.0.2", 12), undefined, "pfa -> pfb without a pair key");
      assert.deepEqual(files().filter((f) => !f.includes("(missing)")), kept, "the cut node's pairs are untouched on both ends");
      // the next run asks again: the update records what it could not check
      assert.ok((driver.pairKeysDrift() ?? []).some((line) => line.startsWith(`pair pfa/wg0~${cutOff}/wg0: not checked: ${cutOff}/wg0 could not be asked`)), JSON.stringify(driver.pairKeysDrift()));

      rotation++;
      const rotated = await driver.converge(fabric(), false);
      console.log(`      a rotation while ${cutOff} is cut off: ${rotated.errors.join("; ")}`);
      const refusal = rotated.errors.find((error) => error.startsWith("pair-keys: "));
      assert.match(refusal ?? "", new RegExp(`pfa/wg0~${cutOff}/wg0 needs a new key \\(it rotates\\), but ${cutOff}/wg0 could not be asked .*; nothing was changed$`));
      assert.deepEqual(files().filter((f) => !f.includes("(missing)")), kept, "no pair key file changed");
    } finally {
      lab.nodeExec(cutOff, "ip", ["link", "set", "dev", "eth0", "up"]);
      delete process.env.WG_FABRIC_COMMAND_TIMEOUT;
    }
    const back = await converge();
    assert.deepEqual(back, [], `once ${cutOff} is back, the rotation goes through`);
    assert.ok(files().filter((f) => !f.includes("(missing)")).every((f) => !kept.includes(f)), "both of its pairs rotated");
    without = undefined;
    assert.deepEqual(await converge(), [], "pfa~pfb's pair key back");
    assert.deepEqual(disagreements(), []);
  });

  it("every key crossed the wire only from its first end's stdout to its second end's stdin", () => {
    const hostOf = new Map(NODES.map((name) => [lab.host(name).ip, name]));
    assert.ok(seen.size >= 3 * 4, `keys of the first run and three rotations: ${seen.size}`);
    const elsewhere: string[] = [];
    for (const [key, pair] of seen) {
      const [first, second] = pair.split("~");
      for (const [channel, direction, data] of wire) {
        if (!data.includes(key)) continue;
        const node = hostOf.get(channel.host);
        const allowed = (direction === "received" && channel.stream === "stdout" && node === first) || (direction === "sent" && channel.stream === "stdin" && node === second);
        if (!allowed) elsewhere.push(`${pair}'s key: ${direction} on ${channel.stream} of ${node ?? channel.host} (${channel.command.slice(0, 60)})`);
      }
    }
    assert.deepEqual(elsewhere, []);
  });
});
