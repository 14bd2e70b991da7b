import type * as pulumi from "@pulumi/pulumi";
import { keyId } from "../fabric";
import { changedKeys, checkFailures, keyInputsSchema, type KeyInputs, type KeyOutputs } from "./inputs";
import { onNode } from "./session";

/** Validates inputs at preview, before anything remote. */
export async function check(_olds: KeyInputs, news: KeyInputs): Promise<pulumi.dynamic.CheckResult<KeyInputs>> {
  return { inputs: news, failures: checkFailures(keyInputsSchema, news) };
}

/**
 * A new node, interface or rotation trigger means a new key: delete the old first. A new key
 * folder (also the default of releases before 0.3) moves the key there: the same key.
 */
export async function diff(_id: string, olds: KeyOutputs, news: KeyInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = changedKeys(olds, news, ["node", "iface", "owner", "rotation"]);
  const changes = replaces.length > 0 || changedKeys(olds, news, ["keyDir", "connection", "acceptNewHostKey"]).length > 0;
  return { changes, replaces, deleteBeforeReplace: true };
}

/**
 * Generates the key on the node (or adopts the one there); only the public key comes back,
 * with the host key the node presented (recorded at first contact unless pinned).
 */
export async function create(inputs: KeyInputs): Promise<pulumi.dynamic.CreateResult<KeyOutputs>> {
  const { publicKey, hostKey } = await onNode(inputs.node, inputs.connection, async (node) => ({ publicKey: await node.ensureKey(inputs, inputs.applyMode), hostKey: node.hostKey }));
  return { id: keyId(inputs.node, inputs.iface), outs: { ...inputs, publicKey, hostKey } };
}

/**
 * The key folder changed: the key files move there on the node, the key unchanged. Otherwise
 * nothing changes on the node (the connection or the trust in its host key changed): the node
 * is reached once to record the host key it presents, which must be the recorded one unless
 * `acceptNewHostKey` is set.
 */
export async function update(_id: string, olds: KeyOutputs, news: KeyInputs): Promise<pulumi.dynamic.UpdateResult<KeyOutputs>> {
  const moved = olds.keyDir !== news.keyDir;
  const { publicKey, hostKey } = await onNode(
    news.node,
    news.connection,
    async (node) => ({ publicKey: moved ? await node.ensureKey({ ...news, from: { keyDir: olds.keyDir } }, news.applyMode) : olds.publicKey, hostKey: node.hostKey }),
    trustOf(olds, news),
  );
  return { outs: { ...news, publicKey, hostKey } };
}

/**
 * The key as it is on the node: gone (the next up makes a new one) or its current public key,
 * and the host key (recorded now where state has none, as in stacks older than this record).
 */
export async function read(id: string, props: KeyOutputs): Promise<pulumi.dynamic.ReadResult<KeyOutputs>> {
  const { found, hostKey } = await onNode(props.node, props.connection, async (node) => ({ found: await node.inspect(props, "none"), hostKey: node.hostKey }), trustOf(props, props));
  if (!found.keyPresent || !found.publicKey) return {};
  return { id, props: { ...props, publicKey: found.publicKey, hostKey } };
}

/** Deletes the key files on the node. */
export async function remove(_id: string, props: KeyOutputs): Promise<void> {
  await onNode(props.node, props.connection, (node) => node.removeKey(props), trustOf(props, props));
}

function trustOf(recorded: KeyOutputs, inputs: KeyInputs) {
  return { recordedHostKey: recorded.hostKey, acceptNewHostKey: inputs.acceptNewHostKey };
}
