import * as ipaddr from "ipaddr.js";
import { z } from "zod";

/** An IPv4 or IPv6 address with a prefix length, e.g. `198.51.100.1/24`. */
export class Cidr {
  private constructor(
    /** 4 or 6. */
    readonly family: 4 | 6,
    /** The address as written (host bits kept). */
    readonly address: ipaddr.IPv4 | ipaddr.IPv6,
    readonly prefix: number,
  ) {}

  /** Parses `text`; returns an error message instead of throwing. */
  static parse(text: string): Cidr | string {
    // a fabrics.cfg's allowed_ips takes one network per line (Proxmox VE refuses a list: syntax-allowed-ips-comma-list)
    if (text.includes(",")) return `"${text}" holds several networks: give one per entry (in a fabrics.cfg, one allowed_ips line each)`;
    const slash = text.indexOf("/");
    if (slash < 0) return `"${text}" needs a prefix length (e.g. /24 or /64)`;
    const addr = text.slice(0, slash);
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText)) return `"${text}" has an invalid prefix length`;
    const prefix = Number(prefixText);
    if (ipaddr.IPv4.isValidFourPartDecimal(addr)) {
      if (prefix > 32) return `"${text}": an IPv4 prefix length is at most 32`;
      return new Cidr(4, ipaddr.IPv4.parse(addr), prefix);
    }
    if (ipaddr.IPv6.isValid(addr) && !addr.includes("%")) {
      if (prefix > 128) return `"${text}": an IPv6 prefix length is at most 128`;
      return new Cidr(6, ipaddr.IPv6.parse(addr), prefix);
    }
    return `"${text}" is not an IPv4 or IPv6 address with prefix length`;
  }

  /** Parses `text` or throws its error message. */
  static of(text: string): Cidr {
    const parsed = Cidr.parse(text);
    if (typeof parsed === "string") throw new Error(parsed);
    return parsed;
  }

  /** Number of address bits: 32 or 128. */
  get bits(): number {
    return this.family === 4 ? 32 : 128;
  }

  /** True when bits beyond the prefix are set (fine for an interface address, not for a route). */
  get hasHostBits(): boolean {
    return this.first !== this.addressValue;
  }

  /** The address as an unsigned integer. */
  get addressValue(): bigint {
    let value = 0n;
    for (const byte of this.address.toByteArray()) value = (value << 8n) | BigInt(byte);
    return value;
  }

  // Memoized: overlap checks on large meshes ask for the same ranges many times.
  private range?: readonly [bigint, bigint];

  private get bounds(): readonly [bigint, bigint] {
    if (!this.range) {
      const hostBits = BigInt(this.bits - this.prefix);
      const first = (this.addressValue >> hostBits) << hostBits;
      this.range = [first, first + (1n << hostBits) - 1n];
    }
    return this.range;
  }

  /** First address of the network. */
  get first(): bigint {
    return this.bounds[0];
  }

  /** Last address of the network. */
  get last(): bigint {
    return this.bounds[1];
  }

  /** The network with host bits cleared, e.g. `198.51.100.0/24`. */
  network(): Cidr {
    const bytes: number[] = [];
    let value = this.first;
    for (let i = 0; i < this.bits / 8; i++) {
      bytes.unshift(Number(value & 0xffn));
      value >>= 8n;
    }
    return new Cidr(this.family, ipaddr.fromByteArray(bytes) as ipaddr.IPv4 | ipaddr.IPv6, this.prefix);
  }

  /** The address alone as a host route: /32 or /128. */
  hostRoute(): Cidr {
    if (this.prefix === this.bits) return this;
    this.host ??= new Cidr(this.family, this.address, this.bits);
    return this.host;
  }

  private host?: Cidr;

  /** Just the address, without prefix. */
  addressText(): string {
    return this.address.toString();
  }

  /** True when the two ranges share any address. */
  overlaps(other: Cidr): boolean {
    return this.family === other.family && this.first <= other.last && other.first <= this.last;
  }

  /** Canonical text: compressed IPv6, `address/prefix`. */
  toString(): string {
    return `${this.address.toString()}/${this.prefix}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** An interface address: host bits allowed (`198.51.100.2/24`). */
export const interfaceAddressSchema = z.string().transform((text, ctx) => {
  const parsed = Cidr.parse(text);
  if (typeof parsed === "string") {
    ctx.addIssue({ code: "custom", message: parsed });
    return z.NEVER;
  }
  return parsed;
});

/** A route in AllowedIPs: host bits must be clear, since wg would silently drop them. */
export const routeSchema = z.string().transform((text, ctx) => {
  const parsed = Cidr.parse(text);
  if (typeof parsed === "string") {
    ctx.addIssue({ code: "custom", message: parsed });
    return z.NEVER;
  }
  if (parsed.hasHostBits) {
    ctx.addIssue({ code: "custom", message: `"${text}" has host bits set; did you mean ${parsed.network().toString()}?` });
    return z.NEVER;
  }
  return parsed;
});
