/** A peer as a rendered config declares it. */
export interface DeclaredPeer {
  readonly publicKey: string;
  readonly allowedIps: readonly string[];
  readonly endpoint?: string;
}

/** What a rendered config (wg or wg-quick format) declares, for comparing with a running interface. */
export interface DeclaredInterface {
  readonly listenPort?: number;
  readonly addresses: readonly string[];
  readonly peers: readonly DeclaredPeer[];
}

/** Reads back a config we rendered: ListenPort, Address and each peer's key, AllowedIPs and Endpoint. */
export function readConfig(text: string): DeclaredInterface {
  let listenPort: number | undefined;
  const addresses: string[] = [];
  const peers: { publicKey: string; allowedIps: string[]; endpoint?: string }[] = [];
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    if (line.startsWith("[")) {
      section = line.toLowerCase();
      if (section === "[peer]") peers.push({ publicKey: "", allowedIps: [] });
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    const list = value.split(",").map((item) => item.trim()).filter(Boolean);
    const peer = peers[peers.length - 1];
    if (section === "[interface]" && key === "listenport") listenPort = Number(value);
    else if (section === "[interface]" && key === "address") addresses.push(...list);
    else if (section === "[peer]" && peer && key === "publickey") peer.publicKey = value;
    else if (section === "[peer]" && peer && key === "allowedips") peer.allowedIps.push(...list);
    else if (section === "[peer]" && peer && key === "endpoint") peer.endpoint = value;
  }
  return { listenPort, addresses, peers };
}
