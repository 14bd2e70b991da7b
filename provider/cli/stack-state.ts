import { z } from "zod";

/** The resource type of an interface's config (`pulumi-nodejs:dynamic/wireguard-fabric:InterfaceConfig`). */
const CONFIG_TYPE_SUFFIX = "/wireguard-fabric:InterfaceConfig";

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
  // a pre-shared key is an encrypted object here: only the public fields are read
  peers: z.record(z.string(), z.object({ publicKey: z.string(), endpoint: z.string().optional() })),
  drift: z.array(z.string()).optional(),
  status: z.object({ state: z.string(), peers: z.array(livePeerSchema) }).optional(),
});

/** One managed interface of a stack, as its state records it. */
export type StackInterface = z.infer<typeof interfaceOutputsSchema> & { readonly fabric: string };

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
  const interfaces: StackInterface[] = [];
  for (const resource of exported.deployment.resources ?? []) {
    if (!resource.type.endsWith(CONFIG_TYPE_SUFFIX)) continue;
    const parsed = interfaceOutputsSchema.safeParse(resource.outputs);
    if (!parsed.success) continue;
    interfaces.push({ ...parsed.data, fabric: parsed.data.owner.split("/")[0] ?? "" });
  }
  return interfaces.sort((a, b) => `${a.node}/${a.iface}`.localeCompare(`${b.node}/${b.iface}`));
}
