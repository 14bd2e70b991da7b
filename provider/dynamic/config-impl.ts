import type * as pulumi from "@pulumi/pulumi";
import { keyId, readConfig } from "../fabric";
import { configDigest, driftOf } from "../remote";
import { changedKeys, checkFailures, configInputsSchema, type ConfigInputs, type ConfigOutputs } from "./inputs";
import { onNode } from "./session";

/** Validates inputs at preview, before anything remote. */
export async function check(_olds: ConfigInputs, news: ConfigInputs): Promise<pulumi.dynamic.CheckResult<ConfigInputs>> {
  return { inputs: news, failures: checkFailures(configInputsSchema, news) };
}

/**
 * Exactly what changes: the config text, the stanza, the own key (the node must write the new
 * private key), the connection, or drift found by refresh. Node, interface, key dir and apply
 * mode are a different interface: replace it.
 */
export async function diff(_id: string, olds: ConfigOutputs, news: ConfigInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = changedKeys(olds, news, ["node", "iface", "keyDir", "owner", "applyMode"]);
  const changed = changedKeys(olds, news, ["config", "stanza", "publicKey", "connection"]);
  const drifted = (olds.drift ?? []).length > 0;
  return { changes: replaces.length > 0 || changed.length > 0 || drifted, replaces, deleteBeforeReplace: true };
}

async function install(inputs: ConfigInputs): Promise<ConfigOutputs> {
  await onNode(inputs.node, inputs.connection, (node) => node.install(inputs, inputs.applyMode, inputs.config, inputs.stanza));
  return { ...inputs, digest: configDigest(inputs.config, inputs.owner), drift: [], status: { state: inputs.applyMode === "none" ? "written" : "up", peers: [] } };
}

/** Writes the config (the node adds its private key) and brings it live. */
export async function create(inputs: ConfigInputs): Promise<pulumi.dynamic.CreateResult<ConfigOutputs>> {
  return { id: keyId(inputs.node, inputs.iface), outs: await install(inputs) };
}

/** Rewrites and re-applies; a running interface is synced, not restarted. */
export async function update(_id: string, _olds: ConfigOutputs, news: ConfigInputs): Promise<pulumi.dynamic.UpdateResult<ConfigOutputs>> {
  return { outs: await install(news) };
}

/** Drift (file and running interface against what we wrote) and tunnel status. */
export async function read(id: string, props: ConfigOutputs): Promise<pulumi.dynamic.ReadResult<ConfigOutputs>> {
  const found = await onNode(props.node, props.connection, (node) => node.inspect(props, props.applyMode));
  const drift = driftOf(readConfig(props.config), { digest: props.digest, publicKey: props.publicKey, running: props.applyMode !== "none" }, found);
  const peers = (found.running?.peers ?? []).map(({ publicKey, endpoint, latestHandshake, rxBytes, txBytes }) => ({
    publicKey,
    ...(endpoint ? { endpoint } : {}),
    latestHandshake,
    rxBytes,
    txBytes,
  }));
  return { id, props: { ...props, drift, status: { state: found.running ? "up" : "down", peers } } };
}

/** Takes the interface down and removes its config files. */
export async function remove(_id: string, props: ConfigOutputs): Promise<void> {
  await onNode(props.node, props.connection, (node) => node.remove(props, props.applyMode));
}
