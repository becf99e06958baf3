// Address layout shared by the VM-based cloud backends (AWS, GCP, Azure):
// a boundary range split into equal subnets, and fixed host addresses inside a subnet so that
// firewall rules can name single addresses (/32) before anything exists. Pure: no SDK import.
import { intToIpv4, ipv4ToInt, parseCidr } from "../spec/net";

/** Splits `cidr` into `parts` equal ranges (parts must be a power of two). */
export function splitCidr(cidr: string, parts: number): string[] {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const bits = Math.log2(parts);
  if (!Number.isInteger(bits)) throw new Error(`cannot split into ${parts} parts`);
  const size = 2 ** (32 - c.prefix - bits);
  const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
  const base = (ipv4ToInt(c.address)! & mask) >>> 0;
  return Array.from({ length: parts }, (_, i) => `${intToIpv4(base + i * size)}/${c.prefix + bits}`);
}

/**
 * The `index`-th fixed host address of a subnet. Starts at offset 10: clouds reserve the first
 * addresses of a subnet (AWS 4, Azure 4 — network, gateway, two DNS).
 */
export function hostAt(subnet: string, index: number, offset = 10): string {
  const c = parseCidr(subnet);
  if (!c) throw new Error(`not an IPv4 CIDR: ${subnet}`);
  return intToIpv4(ipv4ToInt(c.address)! + offset + index);
}

export const IPV4_LITERAL = /^\d+\.\d+\.\d+\.\d+$/;

/** One gate listener per allowed upstream (spec `egress.allow[]`), as every VM backend plans it. */
export interface GateListener {
  /** The upstream's name; also the Toxiproxy proxy name. */
  name: string;
  listenPort: number;
  /** `host:port` the gate forwards to. */
  upstream: string;
  via: "endpoint" | "target" | "address";
  service?: string;
  target?: string;
  host?: string;
  port: number;
  /** Names the workload resolves to the gate. */
  aliases: string[];
}
