import { DEFAULT_KEY_DIR, type ApplyMode, type Fabric } from "../model";
import { keyId } from "./keys";

/**
 * The link that holds an internal node's own addresses (`ip`, `ip6`), as Proxmox VE names it:
 * `dummy_<fabric>` (proxmox-perl-rs, `get_interfaces_etc_network_config`).
 */
export function nodeAddressLink(fabric: string): string {
  return `dummy_${fabric}`;
}

/** Everything needed to put one internal node's own addresses on it. */
export interface NodeAddressView {
  readonly node: string;
  /** `dummy_<fabric>`. */
  readonly link: string;
  /** `node/link`. */
  readonly id: string;
  /** `fabric/node/link`: who manages the link's stanza on the node. */
  readonly owner: string;
  readonly keyDir: string;
  readonly applyMode: ApplyMode;
  /** The node's IPv4 address, without prefix. */
  readonly ip?: string;
  /** The node's IPv6 address, without prefix. */
  readonly ip6?: string;
}

/** The internal nodes of `fabric` that have an address of their own, each with where it goes. */
export function nodeAddressViews(fabric: Fabric): NodeAddressView[] {
  const link = nodeAddressLink(fabric.name);
  return Object.entries(fabric.nodes).flatMap(([node, spec]): NodeAddressView[] => {
    if (spec.role !== "internal" || (!spec.ip && !spec.ip6)) return [];
    return [
      {
        node,
        link,
        id: keyId(node, link),
        owner: `${fabric.name}/${keyId(node, link)}`,
        keyDir: spec.keyDir ?? fabric.keyDir ?? DEFAULT_KEY_DIR,
        applyMode: spec.applyMode ?? fabric.applyMode,
        ...(spec.ip ? { ip: spec.ip.addressText() } : {}),
        ...(spec.ip6 ? { ip6: spec.ip6.addressText() } : {}),
      },
    ];
  });
}

/**
 * The ifupdown2 stanza of the node's addresses, as Proxmox VE renders it into
 * /etc/network/interfaces.d/sdn (proxmox-perl-rs, `render_interface`): one block per family,
 * the address as a host route, `link-type dummy` and `ip-forward 1`. ifupdown2 merges the two
 * blocks into one link; it makes the link at boot and on every `ifreload -a`.
 */
export function renderNodeAddressStanza(link: string, address: NodeAddressText): string {
  const block = (cidr: string) => [`auto ${link}`, `iface ${link} ${cidr.includes(":") ? "inet6" : "inet"} static`, `\taddress ${cidr}`, "\tlink-type dummy", "\tip-forward 1"].join("\n");
  const blocks = nodeAddressCidrs(address).map(block);
  return blocks.length === 0 ? "" : `${blocks.join("\n\n")}\n`;
}

/** A node's own addresses as text, without prefix length. */
export interface NodeAddressText {
  readonly ip?: string;
  readonly ip6?: string;
}

/** The addresses the link holds: each a host route (/32, /128), IPv4 first. */
export function nodeAddressCidrs(address: NodeAddressText): string[] {
  return [...(address.ip ? [`${address.ip}/32`] : []), ...(address.ip6 ? [`${address.ip6}/128`] : [])];
}
