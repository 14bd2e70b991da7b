/**
 * What Proxmox VE's parser of fabrics.cfg takes, written once for the reader (what it refuses)
 * and the writer (what it cannot hold): section types, name rules, and the words that say why.
 */

export const FABRIC_TYPE = "wireguard_fabric";
export const NODE_TYPE = "wireguard_node";

/** Messages quote the input: a quote longer than this is cut. */
export const QUOTE_LIMIT = 120;

/** `text` in quotes, cut to {@link QUOTE_LIMIT} characters (a 20 MB line stays out of a message). */
export function quote(text: string): string {
  return text.length <= QUOTE_LIMIT ? `"${text}"` : `"${text.slice(0, QUOTE_LIMIT)}…" (${text.length} characters)`;
}

/** What some editors put at the start of a UTF-8 file. */
export const BYTE_ORDER_MARK = "\uFEFF";

/** Proxmox VE's interface name rule: 1-8 characters, letters, digits and inner dashes. */
export const PROXMOX_IFNAME = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,6}[a-zA-Z0-9]?$/;
/** Windows line ends, as Proxmox VE's parser reads them (syntax-crlf: it keeps the CR in section ids, then cannot make a node's config). */
export const CRLF = "Windows line ends (CR LF): Proxmox VE's parser keeps the CR in each section id (node \"pve1\\r\"), and then makes no config for the node; save the file with LF line ends";
/** The longest fabric id Proxmox VE's section config takes (syntax-fabric-id-8-chars; 9 and 10 are refused). */
export const PROXMOX_FABRIC_ID_MAX = 8;

/** Why a Proxmox VE file holds no peer's `allowed_ips`. */
export const PEER_ALLOWED_IPS_UNREADABLE = `Proxmox VE cannot read a peer's allowed_ips (proxmox-ve-config 0.10.1 refuses the whole file: "expected a sequence")`;

/** What to do with a fabric Proxmox VE's dialect cannot hold. */
export const RFC_ONLY = "Proxmox VE refuses such a file: keep it in the RFC dialect (wg-fabric fmt --rfc)";
