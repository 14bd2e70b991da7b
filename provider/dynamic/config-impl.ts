import type * as pulumi from "@pulumi/pulumi";
import { keyId } from "../fabric";
import { configDigest, driftOf, stanzaDigest } from "../remote";
import { changedKeys, checkFailures, configInputsSchema, UNKNOWN, type ConfigInputs, type ConfigOutputs } from "./inputs";
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
  const changed = changedKeys(olds, news, ["config", "stanza", "publicKey", "connection", "hostKey"]);
  const drifted = (olds.drift ?? []).length > 0;
  return { changes: replaces.length > 0 || changed.length > 0 || drifted, replaces, deleteBeforeReplace: true };
}

async function install(inputs: ConfigInputs): Promise<ConfigOutputs> {
  await onNode(inputs.node, inputs.connection, (node) => node.sync(inputs, inputs.applyMode, inputs.config, inputs.stanza), trustOf(inputs));
  return { ...inputs, digest: configDigest(inputs.config, inputs.owner), drift: [], status: { state: inputs.applyMode === "none" ? "written" : "up", peers: [] } };
}

/** Writes the config (the node adds its private key) and brings it live. */
export async function create(inputs: ConfigInputs): Promise<pulumi.dynamic.CreateResult<ConfigOutputs>> {
  return { id: keyId(inputs.node, inputs.iface), outs: await install(inputs) };
}

/** Rewrites and re-applies: only the steps that make the running interface match, never a restart. */
export async function update(_id: string, _olds: ConfigOutputs, news: ConfigInputs): Promise<pulumi.dynamic.UpdateResult<ConfigOutputs>> {
  return { outs: await install(news) };
}

/**
 * Drift (files, and every step the next `up` would take to make the running interface match)
 * and tunnel status.
 */
export async function read(id: string, props: ConfigOutputs): Promise<pulumi.dynamic.ReadResult<ConfigOutputs>> {
  const { found, plan } = await onNode(props.node, props.connection, async (node) => {
    const inspection = await node.inspect(props, props.applyMode, props.config);
    return { found: inspection, plan: node.plan(inspection, props.applyMode, props.config, props.stanza, props.publicKey) };
  }, trustOf(props));
  const expected = {
    digest: props.digest,
    publicKey: props.publicKey,
    stanzaDigest: props.applyMode === "ifupdown2" ? stanzaDigest(props.stanza, props.owner) : undefined,
  };
  const drift = driftOf(found, expected, plan);
  const peers = found.live.peers.map(({ publicKey, endpoint, latestHandshake, rxBytes, txBytes }) => ({
    publicKey,
    ...(endpoint ? { endpoint } : {}),
    latestHandshake,
    rxBytes,
    txBytes,
  }));
  return { id, props: { ...props, drift, status: { state: found.live.link?.up ? "up" : "down", peers } } };
}

/** Takes the interface down and removes its config files. */
export async function remove(_id: string, props: ConfigOutputs): Promise<void> {
  await onNode(props.node, props.connection, (node) => node.remove(props, props.applyMode), trustOf(props));
}

/** The host key the node must present: the one its key resource recorded (trust on first use). */
function trustOf(inputs: ConfigInputs) {
  return { recordedHostKey: inputs.hostKey === UNKNOWN ? undefined : inputs.hostKey, acceptNewHostKey: inputs.acceptNewHostKey };
}
