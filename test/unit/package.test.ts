import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "../../..");

const ZOD_INFERRED = ["FabricInput", "FabricModel", "ValidFabric"];

/** What an entry point's declarations export, by name: deprecated (0.2's names kept) or not. */
function exportsOf(declarations: string): { current: string[]; deprecated: string[]; undocumented: string[] } {
  const program = ts.createProgram([declarations], { skipLibCheck: true, noEmit: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(declarations) as ts.SourceFile) as ts.Symbol;
  const current: string[] = [];
  const deprecated: string[] = [];
  const undocumented: string[] = [];
  // a field of a type inferred from a zod schema is documented where the schema defines it
  const documented = (symbol: ts.Symbol): boolean =>
    [symbol, ...checker.getRootSymbols(symbol)].some((s) => s.getDocumentationComment(checker).length > 0 || s.getJsDocTags(checker).length > 0 || (s.declarations ?? []).some((d) => ts.getJSDocCommentsAndTags(d).length > 0));
  for (const symbol of checker.getExportsOfModule(module)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const tagged = [symbol, target].some((s) => s.getJsDocTags(checker).some((tag) => tag.name === "deprecated"));
    (tagged ? deprecated : current).push(symbol.name);
    if (tagged) continue;
    if (!documented(symbol) && !documented(target)) undocumented.push(symbol.name);
    // and the fields of the exported interfaces and object types a program fills or reads; the
    // fields of a type inferred from a zod schema carry their TSDoc in the schema (TypeScript
    // drops it through z.infer and the declaration files)
    if (ZOD_INFERRED.includes(symbol.name)) continue;
    if (target.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) {
      for (const member of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(target))) {
        const own = member.declarations?.some((d) => !d.getSourceFile().fileName.includes("node_modules"));
        if (own && !documented(member)) undocumented.push(`${symbol.name}.${member.name}`);
      }
    }
  }
  return { current: current.sort(), deprecated: deprecated.sort(), undocumented: [...new Set(undocumented)].sort() };
}

/** The names the README lists after `heading` (one line of backquoted names). */
function readmeList(heading: string): string[] {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const line = readme.split("\n").find((l) => l.startsWith(heading));
  assert.ok(line, `README has a line starting ${heading}`);
  return [...line.slice(heading.length).matchAll(/`([A-Za-z0-9_]+)`/g)].map((m) => m[1] as string).sort();
}

// The public API, listed: a name added or removed is a decision, made here and in the README.
const ROOT_API = [
  "ApplyMode", "ConnectionArgs", "ExportedInterface", "ExportedPeers", "ExternalNodeSpec", "Fabric", "FabricArgs", "FabricDefaults", "FabricError",
  "InterfaceSpec", "InternalNode", "InternalNodeSpec", "MeshMemberSpec", "NodeSpec", "PartialConnectionArgs", "PathStep", "PeerOverrides", "PeerSpec", "Problem", "ProblemPlace",
  "SectionConfigFabricArgs", "exportPeers", "externalNodesFrom", "fullMesh",
].sort();
const FABRIC_API = [
  "ApplyMode", "DIALECTS", "Dialect", "FabricError", "FabricInput", "FabricModel", "FullMeshOptions", "InterfaceView", "LinkHealth", "MeshNode", "NodeFiles",
  "PathStep", "PeerView", "Preparation", "PrepareOptions", "PreparedFabric", "Problem", "ProblemPlace", "PublicKeys", "ValidFabric", "prepareFabric", "SECTION_KEYS", "SectionConfig", "SectionConfigError", "SectionKey", "Topology", "TopologyInterface", "TopologyLink",
  "TopologyNode", "WriteOptions", "formatProblem", "fullMeshInput", "keyTable", "parseFabric", "parseFabricOrThrow", "parseSectionConfig", "recordedPublicKeys", "renderDot",
  "renderIfupdown2", "renderMermaid", "renderNodeFiles", "renderProxmoxConfig", "renderProxmoxStanza", "renderWg", "renderWgQuick", "resolveInterfaces",
  "topologyOfFabric", "validateAcrossFabrics", "validateFabric", "writeSectionConfig",
].sort();

describe("the package: what ships and what it exports", () => {
  it("npm pack ships the built package, the CLI and the docs, and no test, bench, lab or development tool", () => {
    const [packed] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })) as [{ files: { path: string }[] }];
    const files = packed.files.map((f) => f.path).sort();
    const outside = files.filter((f) => !/^(dist\/provider\/|dist\/cli\/wg-fabric(-main)?\.js(\.cache)?$|package\.json$|README\.md$|CHANGELOG\.md$|LICENSE$)/.test(f));
    assert.deepEqual(outside, [], "files outside the package's own folders");
    const forDevelopment = files.filter((f) => /(^|\/)(test|bench|lab|tools|language-host)(\/|$)|converge|channel-tap/.test(f));
    assert.deepEqual(forDevelopment, [], "development files in the package");
    for (const needed of ["dist/provider/index.js", "dist/provider/fabric-api.js", "dist/provider/dynamic/config-impl.js", "dist/provider/remote/scripts/apply.sh", "dist/cli/wg-fabric.js"]) {
      assert.ok(files.includes(needed), `${needed} ships`);
    }
  });

  it("the root and /fabric export what the README lists; the root's other names are 0.2's, deprecated", () => {
    const root = exportsOf(path.join(ROOT, "dist/provider/index.d.ts"));
    const fabric = exportsOf(path.join(ROOT, "dist/provider/fabric-api.d.ts"));
    assert.deepEqual(root.current, ROOT_API, "pulumi-wireguard-fabric");
    assert.deepEqual(fabric.current, FABRIC_API, "pulumi-wireguard-fabric/fabric");
    assert.deepEqual(fabric.deprecated, [], "nothing deprecated in /fabric");
    assert.deepEqual([...root.undocumented, ...fabric.undocumented], [], "exported names and their fields without TSDoc");
    assert.deepEqual(readmeList("- `pulumi-wireguard-fabric`:"), ROOT_API, "README: the root");
    assert.deepEqual(readmeList("- `pulumi-wireguard-fabric/fabric`:"), FABRIC_API, "README: /fabric");
    assert.deepEqual(readmeList("- Deprecated, from 0.2:"), root.deprecated, "README: the deprecated names");
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { exports: Record<string, unknown> };
    assert.deepEqual(Object.keys(pkg.exports).sort(), [".", "./dynamic/address-impl", "./dynamic/config-impl", "./dynamic/key-impl", "./dynamic/pair-keys-impl", "./fabric", "./package.json"], "entry points: the two APIs, and the implementations that stacks' stored providers load by name");
  });

  it("the layout table of docs/development.md names every folder of the code", () => {
    const table = readFileSync(path.join(ROOT, "docs/development.md"), "utf8").split("\n").filter((line) => line.startsWith("| `"));
    const named = new Set(table.flatMap((line) => [...line.matchAll(/`([a-z][\w./-]*\/)`/g)].map((m) => m[1] as string)));
    const folders = execFileSync("git", ["ls-files", "provider", "tools", "lab", "bench", "examples", "test", "scripts", "docs"], { cwd: ROOT, encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map((file) => path.dirname(file))
      .filter((dir) => dir.split("/").length <= (dir.startsWith("provider") || dir.startsWith("tools") ? 3 : 1));
    assert.deepEqual([...new Set(folders)].filter((dir) => !named.has(`${dir}/`)).sort(), [], "folders the table does not name");
  });
});
