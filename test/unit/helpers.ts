import * as assert from "node:assert/strict";
import { validateFabric } from "../../provider/fabric";
import { parseSectionConfig, SectionConfigError } from "../../provider/section-config";
import { formatProblem, parseFabric, type FabricInput } from "../../provider/model";

/** Public keys used across tests (real keys made by `wg genkey | wg pubkey`). */
export const KEYS = {
  elementalist: "O+Kzrochm6klMILjSKVw83xb3YyXXLpmZj9n/ICM5xE=",
  occultist: "y0kOpXfo9ff4KoUwO3H1cRuwObbKwsK8mAkwXxNvKUc=",
  berserker: "GDPUAnPOY5xGIjYXmcGyXZXbocjBr21dGQ5vwnjmdzA=",
} as const;

/** The RFC's three nodes, with the peering made two-way. */
export function rfcSpec(): FabricInput & { nodes: Record<string, any> } {
  return {
    name: "vpn",
    nodes: {
      elementalist: {
        role: "internal",
        endpoint: "192.0.2.1",
        allowedIps: ["203.0.113.128/25"],
        interfaces: { wg0: { listenPort: 50000, ip: "198.51.100.1/24" } },
        peers: [{ type: "internal", node: "occultist", nodeIface: "wg0", iface: "wg0" }],
      },
      occultist: {
        role: "internal",
        endpoint: "192.0.2.2",
        interfaces: { wg0: { listenPort: 50000, ip: "198.51.100.2/24" } },
        peers: [
          { type: "internal", node: "elementalist", nodeIface: "wg0", iface: "wg0" },
          { type: "external", node: "berserker", iface: "wg0" },
        ],
      },
      berserker: { role: "external", endpoint: "berserker:51337", allowedIps: ["203.0.113.0/25"], publicKey: KEYS.berserker },
    },
  };
}

/** Every problem of an input, schema or cross-reference, as the CLI prints it. */
export function problemsOf(input: unknown, options: { publicKeysAreOutputs?: boolean } = {}): string[] {
  const parsed = parseFabric(input, options);
  if (Array.isArray(parsed)) return parsed.map(formatProblem);
  return validateFabric(parsed).map(formatProblem);
}

/** A small deterministic PRNG (mulberry32): exploring tests print their seed so a failure can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of an exploring test: from `envName` to replay one, else new each run. */
export function seedFrom(envName: string): number {
  return Number(process.env[envName] ?? Date.now() % 1_000_000);
}

/** The problems parsing `text` as a fabrics.cfg reports, formatted; fails when it parses. */
export function sectionConfigProblems(text: string): string[] {
  try {
    parseSectionConfig(text);
  } catch (error) {
    assert.ok(error instanceof SectionConfigError);
    return error.problems.map(formatProblem);
  }
  assert.fail("expected a SectionConfigError");
}
