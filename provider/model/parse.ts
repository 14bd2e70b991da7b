import type { z } from "zod";
import { fabricSchema, fabricSpecSchema, peerSchema, type Fabric, type Peer } from "./fabric";
import { FabricError, problemsFromZod, type Problem } from "./problem";

/** What {@link parseFabricIssues} yields: the fabric, or every schema issue. */
export type FabricParse = { readonly fabric: Fabric; readonly issues?: undefined } | { readonly fabric?: undefined; readonly issues: readonly z.core.$ZodIssue[] };

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Parses untrusted input with the fabric schema. Internal nodes' peers are parsed apart, each
 * distinct peer object once: a fabrics.cfg reader hands the same object for each equal line,
 * and a 1000-node mesh has a million peer entries but a thousand distinct ones. The parsed
 * peers are shared the same way (they are never changed after parsing).
 */
export function parseFabricIssues(input: unknown, options: { publicKeysAreOutputs?: boolean } = {}): FabricParse {
  const schema = options.publicKeysAreOutputs ? fabricSpecSchema : fabricSchema;
  const nodes = isRecord(input) ? input.nodes : undefined;
  if (!isRecord(input) || !isRecord(nodes)) return outcome(schema.safeParse(input), []);
  // the schema sees every node with no peers; its default([]) is replaced below
  const peerLists = new Map<string, unknown[]>();
  const shell: Record<string, unknown> = {};
  for (const [name, node] of Object.entries(nodes)) {
    if (isRecord(node) && node.role === "internal" && Array.isArray(node.peers)) {
      peerLists.set(name, node.peers);
      shell[name] = { ...node, peers: [] };
    } else shell[name] = node;
  }
  const result = schema.safeParse({ ...input, nodes: shell });
  const peerIssues: z.core.$ZodIssue[] = [];
  const parsed = new Map<unknown, Peer | readonly z.core.$ZodIssue[]>();
  for (const [name, raws] of peerLists) {
    const peers: Peer[] = new Array(raws.length);
    raws.forEach((raw, index) => {
      let peer = parsed.get(raw);
      if (peer === undefined) {
        const one = peerSchema.safeParse(raw);
        parsed.set(raw, (peer = one.success ? Object.freeze(one.data) : one.error.issues));
      }
      if (Array.isArray(peer)) for (const issue of peer as readonly z.core.$ZodIssue[]) peerIssues.push({ ...issue, path: ["nodes", name, "peers", index, ...issue.path] });
      else peers[index] = peer as Peer;
    });
    const node = result.data?.nodes[name];
    if (node?.role === "internal") node.peers = peers;
  }
  return outcome(result, peerIssues);
}

/** Every fabric the parser made: a fabric handed on is not parsed again. */
const PARSED = new WeakSet<Fabric>();

/** True when `value` is a fabric this parser made (not an object of the same shape). */
export function isParsedFabric(value: unknown): value is Fabric {
  return typeof value === "object" && value !== null && PARSED.has(value as Fabric);
}

function outcome(result: z.ZodSafeParseResult<Fabric>, peerIssues: readonly z.core.$ZodIssue[]): FabricParse {
  if (result.success && peerIssues.length === 0) {
    PARSED.add(result.data);
    return { fabric: result.data };
  }
  return { issues: [...(result.error?.issues ?? []), ...peerIssues] };
}

/** Parses untrusted input into a {@link Fabric}, or returns every schema problem. */
export function parseFabric(input: unknown, options: { publicKeysAreOutputs?: boolean } = {}): Fabric | Problem[] {
  const parsed = parseFabricIssues(input, options);
  return parsed.fabric ?? problemsFromZod(parsed.issues);
}

/** Like {@link parseFabric} but throws a {@link FabricError}. */
export function parseFabricOrThrow(input: unknown, options: { publicKeysAreOutputs?: boolean } = {}): Fabric {
  const parsed = parseFabric(input, options);
  if (Array.isArray(parsed)) throw new FabricError(parsed);
  return parsed;
}
