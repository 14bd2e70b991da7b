import type { LinkHealth, Topology, TopologyLink, TopologyNode } from "./topology";

/** Edge colours by handshake health; grey without status. */
const HEALTH_COLOUR: Record<LinkHealth, string> = { ok: "#2e7d32", stale: "#ef6c00", down: "#c62828" };
const PLAIN = "#546e7a";
const WARNING = "#ef6c00";
const ERROR = "#c62828";
/** Problems listed in a node's box at most (the rest counted). */
const SHOWN_PROBLEMS = 3;

/** Short, stable ids for the graph languages (node and interface names may hold `-` and `.`). */
function idsOf(topology: Topology): Map<string, string> {
  const ids = new Map<string, string>();
  topology.nodes.forEach((node, n) => {
    if (node.role === "external") ids.set(node.name, `x${n}`);
    node.interfaces.forEach((iface, i) => ids.set(iface.id, `n${n}i${i}`));
  });
  return ids;
}

function interfaceLines(iface: TopologyNode["interfaces"][number]): string[] {
  return [iface.name, ...iface.addresses, ...(iface.listenPort === undefined ? [] : [`port ${iface.listenPort}`])];
}

function problemLines(node: TopologyNode): string[] {
  if (node.problems.length === 0) return [];
  const shown = node.problems.slice(0, SHOWN_PROBLEMS).map((problem) => `! ${problem.length > 70 ? `${problem.slice(0, 69)}…` : problem}`);
  const more = node.problems.length - shown.length;
  return [...shown, ...(more > 0 ? [`! … ${more} more`] : [])];
}

function linkColour(link: TopologyLink): string {
  if (link.health) return HEALTH_COLOUR[link.health];
  return link.oneSided ? WARNING : PLAIN;
}

/** What an edge says: one-sidedness first, then the status note. */
function linkText(link: TopologyLink): string {
  return [link.oneSided ? `one-sided: only ${link.listedBy.join(", ")} lists it` : "", link.note ?? ""].filter(Boolean).join("\n");
}

const dotString = (text: string): string => `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

/**
 * Graphviz DOT: each internal node a box around its interfaces, external nodes apart in a
 * dashed box, one edge per peering. One-sided peerings are dashed and orange, nodes with
 * validation errors red with the errors listed; with status, edges are green, orange or red by
 * handshake age.
 */
export function renderDot(topology: Topology): string {
  const ids = idsOf(topology);
  const out = [
    `graph ${dotString(topology.name)} {`,
    `  graph [rankdir=LR, nodesep=0.4, ranksep=1.1, fontname="Helvetica", fontsize=12, labelloc=t, label=${dotString(`fabric ${topology.name}`)}];`,
    '  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded"];',
    '  edge [fontname="Helvetica", fontsize=9, penwidth=1.4];',
  ];
  const externals = topology.nodes.filter((node) => node.role === "external");
  topology.nodes.forEach((node, n) => {
    if (node.role !== "internal") return;
    const colour = node.problems.length > 0 ? ERROR : PLAIN;
    out.push(`  subgraph cluster_${n} {`, `    label=${dotString([node.name, ...problemLines(node)].join("\n"))}; style="rounded"; color=${dotString(colour)}; fontcolor=${dotString(node.problems.length > 0 ? ERROR : "black")};`);
    for (const iface of node.interfaces) out.push(`    ${ids.get(iface.id)} [label=${dotString(interfaceLines(iface).join("\n"))}];`);
    out.push("  }");
  });
  if (externals.length > 0) {
    out.push('  subgraph cluster_external {', '    label="external nodes"; style="dashed"; color="#90a4ae";');
    for (const node of externals) {
      const colour = node.problems.length > 0 ? ERROR : PLAIN;
      const label = [node.name, ...(node.endpoint ? [node.endpoint] : []), ...problemLines(node)].join("\n");
      out.push(`    ${ids.get(node.name)} [label=${dotString(label)}, style="dashed", color=${dotString(colour)}];`);
    }
    out.push("  }");
  }
  for (const link of topology.links) {
    const a = ids.get(link.a);
    const b = ids.get(link.b);
    if (!a || !b) continue;
    const text = linkText(link);
    const attributes = [`color=${dotString(linkColour(link))}`, ...(link.oneSided ? ['style="dashed"'] : []), ...(text ? [`label=${dotString(text)}`, `fontcolor=${dotString(linkColour(link))}`] : [])];
    out.push(`  ${a} -- ${b} [${attributes.join(", ")}];`);
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}

const mermaidText = (text: string): string => `"${text.replace(/"/g, "#quot;").replace(/\n/g, "<br/>")}"`;

/**
 * Mermaid flowchart (renders in Markdown): the same boxes and edges as {@link renderDot},
 * one-sided peerings dotted, colours by status.
 */
export function renderMermaid(topology: Topology): string {
  const ids = idsOf(topology);
  const out = ["flowchart LR"];
  const styles: string[] = [];
  topology.nodes.forEach((node, n) => {
    if (node.role !== "internal") return;
    out.push(`  subgraph c${n}[${mermaidText([node.name, ...problemLines(node)].join("\n"))}]`);
    for (const iface of node.interfaces) out.push(`    ${ids.get(iface.id)}(${mermaidText(interfaceLines(iface).join("\n"))})`);
    out.push("  end");
    if (node.problems.length > 0) styles.push(`  style c${n} stroke:${ERROR},color:${ERROR}`);
  });
  const externals = topology.nodes.filter((node) => node.role === "external");
  if (externals.length > 0) {
    out.push('  subgraph external["external nodes"]');
    for (const node of externals) out.push(`    ${ids.get(node.name)}[/${mermaidText([node.name, ...(node.endpoint ? [node.endpoint] : []), ...problemLines(node)].join("\n"))}/]`);
    out.push("  end");
  }
  let index = 0;
  for (const link of topology.links) {
    const a = ids.get(link.a);
    const b = ids.get(link.b);
    if (!a || !b) continue;
    const text = linkText(link);
    const arrow = link.oneSided ? "-.-" : "---";
    out.push(text ? `  ${a} ${arrow}|${mermaidText(text)}| ${b}` : `  ${a} ${arrow} ${b}`);
    if (link.health || link.oneSided) styles.push(`  linkStyle ${index} stroke:${linkColour(link)}`);
    index++;
  }
  return `${[...out, ...styles].join("\n")}\n`;
}
