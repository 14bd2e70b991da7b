import { z } from "zod";
import { pairId } from "../fabric";

/** The resource type of an interface's config (`pulumi-nodejs:dynamic/wireguard-fabric:InterfaceConfig`). */
const CONFIG_TYPE_SUFFIX = "/wireguard-fabric:InterfaceConfig";
/** The resource type of a node's own address link (`…:NodeAddress`). */
const ADDRESS_TYPE_SUFFIX = "/wireguard-fabric:NodeAddress";
/** The resource type of a fabric's pair keys (`…:PairKeys`). */
const PAIR_KEYS_TYPE_SUFFIX = "/wireguard-fabric:PairKeys";

/** What `pulumi stack export` records of one NodeAddress: whose link it is, and what refresh found. */
const addressOutputsSchema = z.object({ owner: z.string(), node: z.string(), link: z.string(), drift: z.array(z.string()).optional() });

/** What `pulumi stack export` records of one PairKeys: its pairs, when each key was made, and what refresh found. */
const pairKeysOutputsSchema = z.object({ pairs: z.record(z.string(), z.unknown()), made: z.record(z.string(), z.number()).optional(), drift: z.array(z.string()).optional() });

/** A pair key as the state knows it: when it was made, and what refresh found wrong with it (its drift lines). */
export interface PairKeyState {
  readonly made?: number;
  readonly drift: readonly string[];
}

const livePeerSchema = z.object({
  publicKey: z.string(),
  endpoint: z.string().optional(),
  latestHandshake: z.number(),
  rxBytes: z.number(),
  txBytes: z.number(),
});

/** What `pulumi stack export` records of one InterfaceConfig: the declaration and what refresh found. */
const interfaceOutputsSchema = z.object({
  owner: z.string(),
  node: z.string(),
  iface: z.string(),
  address: z.string().optional(),
  address6: z.string().optional(),
  listenPort: z.number().optional(),
  // a pre-shared key is an encrypted object here: only whether there is one is read
  peers: z.record(
    z.string(),
    z.object({ publicKey: z.string(), endpoint: z.string().optional(), presharedKey: z.unknown().optional(), pairKey: z.object({ file: z.string() }).optional() }),
  ),
  drift: z.array(z.string()).optional(),
  status: z.object({ state: z.string(), peers: z.array(livePeerSchema), resolved: z.record(z.string(), z.array(z.string())).optional() }).optional(),
});

/**
 * One managed interface of a stack, as its state records it; `nodeDrift` is what refresh found
 * different on the link of its node's own addresses (each line after the link's name);
 * `pairKeys` the state of its pair keys, by pair (see pairId).
 */
export type StackInterface = z.infer<typeof interfaceOutputsSchema> & {
  readonly fabric: string;
  readonly nodeDrift?: readonly string[];
  readonly pairKeys?: Readonly<Record<string, PairKeyState>>;
};

/** A peer as WireGuard reported it at the last refresh. */
export type LivePeer = z.infer<typeof livePeerSchema>;

const exportSchema = z.object({
  deployment: z.object({
    resources: z.array(z.object({ type: z.string(), outputs: z.unknown().optional() })).optional(),
  }),
});

/**
 * The interfaces of a stack from `pulumi stack export` output, in `node/iface` order. Resources
 * of releases before 0.2 (which recorded rendered text) are skipped: an `up` converts them.
 */
export function stackInterfaces(exportJson: string): StackInterface[] {
  const exported = exportSchema.parse(JSON.parse(exportJson));
  const fabricOf = (owner: string): string => owner.split("/")[0] ?? "";
  // by fabric and node: the drift of the node's address link
  const addressDrift = new Map<string, string[]>();
  for (const resource of exported.deployment.resources ?? []) {
    const parsed = resource.type.endsWith(ADDRESS_TYPE_SUFFIX) ? addressOutputsSchema.safeParse(resource.outputs) : undefined;
    if (parsed?.success && (parsed.data.drift ?? []).length > 0) addressDrift.set(`${fabricOf(parsed.data.owner)}/${parsed.data.node}`, (parsed.data.drift ?? []).map((line) => `${parsed.data.link}: ${line}`));
  }
  // pair names are unique in a stack (an interface name is unique on its node): one map for all fabrics
  const pairKeys = new Map<string, PairKeyState>();
  for (const resource of exported.deployment.resources ?? []) {
    const parsed = resource.type.endsWith(PAIR_KEYS_TYPE_SUFFIX) ? pairKeysOutputsSchema.safeParse(resource.outputs) : undefined;
    if (!parsed?.success) continue;
    const drift = parsed.data.drift ?? [];
    for (const pair of Object.keys(parsed.data.pairs)) {
      const made = parsed.data.made?.[pair];
      pairKeys.set(pair, { ...(made !== undefined ? { made } : {}), drift: drift.filter((line) => line.startsWith(`pair ${pair}:`)) });
    }
  }
  const interfaces: StackInterface[] = [];
  for (const resource of exported.deployment.resources ?? []) {
    if (!resource.type.endsWith(CONFIG_TYPE_SUFFIX)) continue;
    const parsed = interfaceOutputsSchema.safeParse(resource.outputs);
    if (!parsed.success) continue;
    const fabric = fabricOf(parsed.data.owner);
    const nodeDrift = addressDrift.get(`${fabric}/${parsed.data.node}`);
    const own = `${parsed.data.node}/${parsed.data.iface}`;
    const pairs = Object.keys(parsed.data.peers).flatMap((label) => {
      const state = pairKeys.get(pairId(own, label));
      return state ? [[pairId(own, label), state] as const] : [];
    });
    interfaces.push({ ...parsed.data, fabric, ...(nodeDrift ? { nodeDrift } : {}), ...(pairs.length > 0 ? { pairKeys: Object.fromEntries(pairs) } : {}) });
  }
  return interfaces.sort((a, b) => `${a.node}/${a.iface}`.localeCompare(`${b.node}/${b.iface}`));
}
