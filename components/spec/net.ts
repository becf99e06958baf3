// Small IPv4 helpers used by validation and by the invariant checks (is this range private? does it
// cover the whole internet?). Kept dependency-free on purpose: a handful of lines, fully tested.

export interface Cidr {
  address: string;
  prefix: number;
}

export function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text.trim());
  if (!m || ipv4ToInt(m[1]) === undefined || Number(m[2]) > 32) return undefined;
  return { address: m[1], prefix: Number(m[2]) };
}

const PRIVATE_RANGES: [string, number][] = [
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
];

export function inRange(ip: string, base: string, prefix: number): boolean {
  const a = ipv4ToInt(ip);
  const b = ipv4ToInt(base);
  if (a === undefined || b === undefined) return false;
  if (prefix === 0) return true;
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

export function isPrivateIpv4(ip: string): boolean {
  return PRIVATE_RANGES.some(([base, prefix]) => inRange(ip, base, prefix));
}

/** The first 16 bits of an IPv6 address, or undefined when it is not one. */
function ipv6FirstGroup(address: string): number | undefined {
  if (!/^[0-9a-f:]+$/i.test(address) || (address.match(/::/g) ?? []).length > 1) return undefined;
  const head = address.startsWith("::") ? "0" : address.split(":")[0];
  return /^[0-9a-f]{1,4}$/i.test(head) ? parseInt(head, 16) : undefined;
}

/**
 * True when a CIDR (v4 or v6) reaches beyond private space: 0.0.0.0/0, ::/0, or any range that is not
 * wholly inside a private one. The prefix length counts: 10.0.0.0/1 covers half the internet. IPv6
 * private = unique local (fc00::/7) and link-local (fe80::/10); an IPv4-mapped range
 * (::ffff:a.b.c.d/n) is judged as its IPv4 range. Unparseable text counts as the internet.
 */
export function cidrReachesInternet(text: string): boolean {
  const t = text.trim();
  const [address, prefixText, extra] = t.split("/");
  if (extra !== undefined || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))) return true;
  if (address.includes(":")) {
    const prefix = prefixText === undefined ? 128 : Number(prefixText);
    if (prefix > 128) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return prefix < 96 || cidrReachesInternet(`${mapped[1]}/${prefix - 96}`);
    const first = ipv6FirstGroup(address);
    if (first === undefined) return true;
    const uniqueLocal = prefix >= 7 && (first & 0xfe00) === 0xfc00;
    const linkLocal = prefix >= 10 && (first & 0xffc0) === 0xfe80;
    return !uniqueLocal && !linkLocal;
  }
  const c = parseCidr(prefixText === undefined ? `${address}/32` : t);
  if (!c) return true; // unparseable: assume the worst
  return !PRIVATE_RANGES.some(([base, prefix]) => c.prefix >= prefix && inRange(c.address, base, prefix));
}
