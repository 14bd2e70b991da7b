import type * as pulumi from "@pulumi/pulumi";
import { keyId } from "../fabric";
import { changedKeys, checkFailures, keyInputsSchema, type KeyInputs, type KeyOutputs } from "./inputs";
import { onNode } from "./session";

/** Validates inputs at preview, before anything remote. */
export async function check(_olds: KeyInputs, news: KeyInputs): Promise<pulumi.dynamic.CheckResult<KeyInputs>> {
  return { inputs: news, failures: checkFailures(keyInputsSchema, news) };
}

/** A new node, interface, key dir or rotation trigger means a new key: delete the old first. */
export async function diff(_id: string, olds: KeyOutputs, news: KeyInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = changedKeys(olds, news, ["node", "iface", "keyDir", "owner", "rotation"]);
  const changes = replaces.length > 0 || changedKeys(olds, news, ["connection"]).length > 0;
  return { changes, replaces, deleteBeforeReplace: true };
}

/** Generates the key on the node (or adopts the one there); only the public key comes back. */
export async function create(inputs: KeyInputs): Promise<pulumi.dynamic.CreateResult<KeyOutputs>> {
  const publicKey = await onNode(inputs.node, inputs.connection, (node) => node.ensureKey(inputs));
  return { id: keyId(inputs.node, inputs.iface), outs: { ...inputs, publicKey } };
}

/** Only the connection changed: nothing to do on the node. */
export async function update(_id: string, olds: KeyOutputs, news: KeyInputs): Promise<pulumi.dynamic.UpdateResult<KeyOutputs>> {
  return { outs: { ...news, publicKey: olds.publicKey } };
}

/** The key as it is on the node: gone (the next up makes a new one) or its current public key. */
export async function read(id: string, props: KeyOutputs): Promise<pulumi.dynamic.ReadResult<KeyOutputs>> {
  const found = await onNode(props.node, props.connection, (node) => node.inspect(props, "none"));
  if (!found.keyPresent || !found.publicKey) return {};
  return { id, props: { ...props, publicKey: found.publicKey } };
}

/** Deletes the key files on the node. */
export async function remove(_id: string, props: KeyOutputs): Promise<void> {
  await onNode(props.node, props.connection, (node) => node.removeKey(props));
}
