/**
 * The spec types a program writes (provider/args.ts, documented field by field for editors)
 * and the zod schemas that parse them (provider/model/fabric.ts) must name the same fields with
 * values the schema reads. TypeScript checks it here when the suite builds: a field added to
 * one and not the other, or a value the schema would refuse, fails the build. (The spec types
 * are not inferred from the schemas because inference drops every field's TSDoc.)
 */
import type { z } from "zod";
import type { ExternalNodeSpec, FabricArgs, FabricDefaults, InterfaceSpec, InternalNodeSpec, PeerOverrides } from "../../provider/args";
import type { externalNodeSchema, fabricSchema, interfaceSchema, internalNodeSchema, peerSchema } from "../../provider/model";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
/** The fields of `A` whose values `B` reads as they are. */
type Fits<A, B> = [A] extends [B] ? true : false;

/** Component-level fields of a node the schema never sees (how to reach it, key rotation, trust). */
type NodeOnlyInComponent = "connection" | "keyRotation" | "acceptNewHostKey" | "adopt";

export type Agreement = [
  Holds<Same<Exclude<keyof InternalNodeSpec, NodeOnlyInComponent>, keyof z.input<typeof internalNodeSchema>>>,
  Holds<Fits<Omit<InternalNodeSpec, NodeOnlyInComponent | "peers" | "interfaces">, Omit<z.input<typeof internalNodeSchema>, "peers" | "interfaces">>>,
  Holds<Same<keyof ExternalNodeSpec, keyof z.input<typeof externalNodeSchema>>>,
  Holds<Fits<ExternalNodeSpec, z.input<typeof externalNodeSchema>>>,
  Holds<Same<keyof InterfaceSpec, Exclude<keyof z.input<typeof interfaceSchema>, "publicKey">>>,
  Holds<Fits<InterfaceSpec, z.input<typeof interfaceSchema>>>,
  // a pre-shared key may be a secret Output in a program: the component takes it out before parsing
  Holds<Fits<Omit<PeerOverrides, "presharedKey">, Omit<z.input<typeof peerSchema>, "type" | "node" | "nodeIface" | "iface" | "presharedKey">>>,
  Holds<Same<Exclude<keyof FabricDefaults, "connection">, Exclude<keyof z.input<typeof fabricSchema>, "name" | "nodes" | "ipPrefix" | "ip6Prefix">>>,
  Holds<Same<Exclude<keyof FabricArgs, "nodes" | "links" | "defaults" | "keyDir" | "applyMode">, Extract<keyof z.input<typeof fabricSchema>, "name" | "ipPrefix" | "ip6Prefix">>>,
];
