import type * as pulumi from "@pulumi/pulumi";
import { keyId, nodeAddressCidrs, renderNodeAddressStanza } from "../fabric";
import { addressDriftOf, stanzaDigest, type InterfaceTarget } from "../remote";
import { addressInputsSchema, changedKeys, checkFailures, UNKNOWN, type AddressInputs, type AddressOutputs } from "./inputs";
import { onNode, trustOf } from "./session";

/** Validates inputs at preview, before anything remote. */
export async function check(_olds: AddressInputs, news: AddressInputs): Promise<pulumi.dynamic.CheckResult<AddressInputs>> {
  return { inputs: news, failures: checkFailures(addressInputsSchema, news) };
}

/** The stanza and the addresses (with prefix) the link holds. */
function declared(inputs: AddressInputs): { stanza: string; addresses: string[] } {
  return {
    stanza: renderNodeAddressStanza(inputs.link, inputs),
    addresses: nodeAddressCidrs(inputs),
  };
}

function targetOf(inputs: AddressInputs): InterfaceTarget {
  return { keyDir: inputs.keyDir, iface: inputs.link, owner: inputs.owner, adopt: inputs.adopt };
}

/** A new node or link is another link: replace it. New addresses, apply mode, connection or drift: update it in place. */
export async function diff(_id: string, olds: AddressOutputs, news: AddressInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = changedKeys(olds, news, ["node", "link", "owner"]);
  const changes =
    replaces.length > 0 ||
    JSON.stringify(news).includes(UNKNOWN) ||
    changedKeys(olds, news, ["ip", "ip6", "applyMode", "keyDir", "connection", "hostKey"]).length > 0 ||
    (olds.drift ?? []).length > 0;
  return { changes, replaces, deleteBeforeReplace: true };
}

async function place(inputs: AddressInputs): Promise<AddressOutputs> {
  const { stanza, addresses } = declared(inputs);
  await onNode(inputs.node, inputs.connection, (node) => node.placeAddress(targetOf(inputs), inputs.applyMode, stanza, addresses), trustOf(inputs));
  return { ...inputs, drift: [] };
}

/** Writes the link's stanza and brings the link up with the node's addresses. */
export async function create(inputs: AddressInputs): Promise<pulumi.dynamic.CreateResult<AddressOutputs>> {
  return { id: keyId(inputs.node, inputs.link), outs: await place(inputs) };
}

/** Rewrites the stanza and brings the link to it: ifupdown2 adds and removes exactly the addresses that changed. */
export async function update(_id: string, _olds: AddressOutputs, news: AddressInputs): Promise<pulumi.dynamic.UpdateResult<AddressOutputs>> {
  return { outs: await place(news) };
}

/** How the node differs: the stanza, the link, its addresses. */
export async function read(id: string, props: AddressOutputs): Promise<pulumi.dynamic.ReadResult<AddressOutputs>> {
  const { stanza, addresses } = declared(props);
  const found = await onNode(props.node, props.connection, (node) => node.inspectAddress(targetOf(props), props.applyMode), trustOf(props));
  const drift = addressDriftOf(found, { stanzaDigest: stanzaDigest(stanza, props.owner), addresses, live: props.applyMode !== "none" });
  return { id, props: { ...props, drift } };
}

/** Takes the link down and removes it and its stanza. */
export async function remove(_id: string, props: AddressOutputs): Promise<void> {
  await onNode(props.node, props.connection, (node) => node.removeAddress(targetOf(props), props.applyMode), trustOf(props));
}
