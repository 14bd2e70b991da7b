import type * as pulumi from "@pulumi/pulumi";
import { configPath, keyId, legacyConfigPath } from "../fabric";
import { writesStanza } from "../model";
import { configDigest, declaredPairKeyFiles, driftOf, refresherDigest, stanzaDigest } from "../remote";
import { changedKeys, checkFailures, configInputsSchema, renderedFiles, UNKNOWN, type ConfigInputs, type ConfigOutputs, type LegacyConfigState } from "./inputs";
import { onNode, trustOf } from "./session";

/** Validates inputs at preview, before anything remote. */
export async function check(_olds: ConfigInputs, news: ConfigInputs): Promise<pulumi.dynamic.CheckResult<ConfigInputs>> {
  return { inputs: news, failures: checkFailures(configInputsSchema, news) };
}

/** Where the config file of `inputs` is written now. */
function configPathOf(inputs: ConfigInputs): string {
  return configPath(inputs.applyMode, inputs.keyDir, inputs.iface);
}

/** Where the config file of a recorded state is: as recorded, or where the release before 0.3 that wrote it put it. */
function recordedConfigPath(props: ConfigOutputs): string {
  return props.configPath ?? legacyConfigPath(props.applyMode, props.keyDir, props.iface);
}

/**
 * Exactly what changes: the rendered files, where they live (a new key folder, the layout of a
 * release before 0.3: they move), the own key (the node must write the new private key), the
 * connection, or drift found by refresh; a state written by an older release is rewritten in
 * the current shape. Node, interface and apply mode are a different interface: replace it. The
 * engine shows the per-peer, per-field difference of the inputs.
 */
export async function diff(_id: string, olds: ConfigOutputs | (ConfigOutputs & LegacyConfigState), news: ConfigInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = changedKeys(olds, news, ["node", "iface", "owner", "applyMode"]);
  const changes =
    replaces.length > 0 ||
    "config" in olds ||
    recordedConfigPath(olds) !== configPathOf(news) ||
    JSON.stringify(news).includes(UNKNOWN) ||
    filesChanged(olds, news) ||
    changedKeys(olds, news, ["publicKey", "keyDir", "connection", "hostKey"]).length > 0 ||
    (olds.drift ?? []).length > 0;
  return { changes, replaces, deleteBeforeReplace: true };
}

function filesChanged(olds: ConfigInputs, news: ConfigInputs): boolean {
  const [before, after] = [renderedFiles(olds), renderedFiles(news)];
  return before.config !== after.config || before.stanza !== after.stanza;
}

/** Writes and applies the files, replacing those at `from` (where they were until now). */
async function install(inputs: ConfigInputs, from?: { keyDir: string; conf: string }): Promise<ConfigOutputs> {
  const { config, stanza } = renderedFiles(inputs);
  await onNode(inputs.node, inputs.connection, (node) => node.sync({ ...inputs, from }, inputs.applyMode, config, stanza), trustOf(inputs));
  return {
    ...inputs,
    configPath: configPathOf(inputs),
    digest: configDigest(config, inputs.owner),
    drift: [],
    status: { state: inputs.applyMode === "none" ? "written" : "up", peers: [] },
  };
}

/** Writes the config (the node adds its private key) and brings it live. */
export async function create(inputs: ConfigInputs): Promise<pulumi.dynamic.CreateResult<ConfigOutputs>> {
  return { id: keyId(inputs.node, inputs.iface), outs: await install(inputs) };
}

/**
 * Rewrites and re-applies: only the steps that make the running interface match, never a
 * restart. Files that move leave their old place once the new ones are in theirs.
 */
export async function update(_id: string, olds: ConfigOutputs, news: ConfigInputs): Promise<pulumi.dynamic.UpdateResult<ConfigOutputs>> {
  return { outs: await install(news, { keyDir: olds.keyDir, conf: recordedConfigPath(olds) }) };
}

/**
 * Drift (files, and every step the next `up` would take to make the running interface match)
 * and tunnel status.
 */
export async function read(id: string, props: ConfigOutputs | (ConfigOutputs & LegacyConfigState)): Promise<pulumi.dynamic.ReadResult<ConfigOutputs>> {
  const { config, stanza } = renderedFiles(props);
  const target = { ...props, conf: recordedConfigPath(props) };
  const { inspection: found, plan, declared } = await onNode(props.node, props.connection, (node) => node.survey(target, props.applyMode, config, stanza, props.publicKey), trustOf(props));
  const expected = {
    digest: props.digest,
    publicKey: props.publicKey,
    stanzaDigest: writesStanza(props.applyMode) ? stanzaDigest(stanza, props.owner) : undefined,
    refresherDigest: refresherDigest(declared),
    pairKeyFiles: declaredPairKeyFiles(declared),
  };
  const drift = driftOf(found, expected, plan);
  const peers = found.live.peers.map(({ publicKey, endpoint, latestHandshake, rxBytes, txBytes }) => ({
    publicKey,
    ...(endpoint ? { endpoint } : {}),
    latestHandshake,
    rxBytes,
    txBytes,
  }));
  const resolved = Object.keys(found.live.resolved).length > 0 ? { resolved: Object.fromEntries(Object.entries(found.live.resolved).map(([name, addresses]) => [name, [...addresses]])) } : {};
  return { id, props: { ...props, drift, status: { state: found.live.link?.up ? "up" : "down", peers, ...resolved } } };
}

/** Takes the interface down and removes its config files. */
export async function remove(_id: string, props: ConfigOutputs): Promise<void> {
  await onNode(props.node, props.connection, (node) => node.remove({ ...props, conf: recordedConfigPath(props) }, props.applyMode), trustOf(props));
}
